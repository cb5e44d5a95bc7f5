"""FLOPs per token: model FLOPs (for MFU) and hardware FLOPs (for HFU).

Model FLOPs per token (PaLM, Chowdhery et al. 2022, App. B):
    6·N + 12·L·H·Q·T
with N the parameter count (convention `params`), L layers, H heads, Q head dim and T the
sequence length. The 6 is 2 FLOPs per multiply-add times (1 forward + 2 backward); the
attention term counts Q·K^T and A·V over the full T x T matrix (`attention="full"`,
PaLM's and DESIGN.md's default); `causal` halves it (FlashAttention / torchtitan
convention); `none` drops it (the plain 6N rule of Kaplan et al. 2020). With MLA the
score and value head dims differ and the term is 6·L·H·T·(d_qk + d_v).

Hardware FLOPs add what activation recomputation re-executes:
- `selective`: the attention core (Q·K^T, softmax, A·V) forward, Korthikanti et al. 2022
  §4.2 -> one third of the attention term;
- `full`: the forward of every transformer layer (not the output head), Megatron-LM SC21
  eq. 3 -> 2·N_layers + one third of the attention term;
- `palm-partial`: PaLM App. B's partial rematerialisation, 75% of the non-attention
  forward plus the whole attention forward -> 1.5·N + one third of the attention term.
"""

from __future__ import annotations

from typing import Literal

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.errors import UserInputError
from flopgrid.flops.weights import ParamsConvention, param_counts

AttentionConvention = Literal["full", "causal", "none"]
Recompute = Literal["none", "selective", "full", "palm-partial"]

PARAMS_CONVENTIONS: tuple[str, ...] = ("matmul", "total")
ATTENTION_CONVENTIONS: tuple[str, ...] = ("full", "causal", "none")
RECOMPUTE_MODES: tuple[str, ...] = ("none", "selective", "full", "palm-partial")

_ATTENTION_FACTOR = {"full": 1.0, "causal": 0.5, "none": 0.0}


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise UserInputError(f"{what} {value!r} is not one of: {', '.join(allowed)}")


def params_for_flops(spec: ModelSpec, params: ParamsConvention = "matmul") -> int:
    """N in 6·N: matmul parameters (active experts only) or all active parameters."""
    _check(params, PARAMS_CONVENTIONS, "params convention")
    counts = param_counts(spec)
    return counts.matmul if params == "matmul" else counts.active


def attention_flops_per_token(spec: ModelSpec, attention: AttentionConvention = "full", seq_len: int | None = None) -> float:
    """Forward + backward FLOPs of Q·K^T and A·V per token: 6·L·H·T·(d_qk + d_v)·factor,
    i.e. 12·L·H·Q·T for a standard model with `attention="full"`."""
    _check(attention, ATTENTION_CONVENTIONS, "attention convention")
    T = seq_len or spec.seq_len
    return 6.0 * spec.n_layers * spec.n_heads * T * (spec.attn_score_dim + spec.attn_value_dim) * _ATTENTION_FACTOR[attention]


def model_flops_per_token(
    spec: ModelSpec,
    params: ParamsConvention = "matmul",
    attention: AttentionConvention = "full",
    seq_len: int | None = None,
) -> float:
    """Model FLOPs per trained token (forward + backward), PaLM App. B."""
    return 6.0 * params_for_flops(spec, params) + attention_flops_per_token(spec, attention, seq_len)


def recompute_flops_per_token(
    spec: ModelSpec,
    recompute: Recompute = "none",
    params: ParamsConvention = "matmul",
    attention: AttentionConvention = "full",
    seq_len: int | None = None,
) -> float:
    """Extra forward FLOPs per token that activation recomputation re-executes."""
    _check(recompute, RECOMPUTE_MODES, "recompute")
    if recompute == "none":
        return 0.0
    attention_forward = attention_flops_per_token(spec, attention, seq_len) / 3.0
    if recompute == "selective":
        return attention_forward
    counts = param_counts(spec)
    if recompute == "full":
        layer_params = counts.matmul_layers if params == "matmul" else counts.active - counts.embedding
        return 2.0 * layer_params + attention_forward
    return 0.75 * 2.0 * params_for_flops(spec, params) + attention_forward


def hardware_flops_per_token(
    spec: ModelSpec,
    recompute: Recompute = "none",
    params: ParamsConvention = "matmul",
    attention: AttentionConvention = "full",
    seq_len: int | None = None,
) -> float:
    """Model FLOPs plus recomputed FLOPs per token (numerator of HFU)."""
    return model_flops_per_token(spec, params, attention, seq_len) + recompute_flops_per_token(
        spec, recompute, params, attention, seq_len
    )
