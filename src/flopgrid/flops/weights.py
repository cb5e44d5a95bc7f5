"""The weight matrices of a transformer, and parameter counts built from them.

Every other count in flopgrid (matmul parameters, MoE active parameters, FLOPs per token,
the perf model's GEMM list) is derived from `weight_matrices`, so the conventions live in
one place.

Conventions (DESIGN.md "Units and conventions"; PaLM App. B; torchtitan):
- matmul parameters: every weight that takes part in a matmul for a token; a tied
  embedding counts once (as the output head), an untied input embedding is a lookup and
  is excluded, MoE counts only the `top_k` routed + shared experts.
- total parameters: every stored parameter (all experts, input embedding, position
  embedding, norms, biases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flopgrid.catalog.model_spec import ModelSpec

ParamsConvention = Literal["matmul", "total"]


@dataclass(frozen=True)
class WeightMatrix:
    """A k x n weight applied to every token: y[n] = x[k] @ W.

    `layers` is how many layers hold it; `copies` how many are stored per layer (MoE
    experts); `active` how many each token passes through (top-k experts).
    """

    name: str
    k: int
    n: int
    layers: int
    copies: int = 1
    active: int = 1
    in_layers: bool = True  # False for the output head

    @property
    def params_total(self) -> int:
        return self.k * self.n * self.layers * self.copies

    @property
    def params_active(self) -> int:
        return self.k * self.n * self.layers * self.active


def _attention_matrices(spec: ModelSpec) -> list[WeightMatrix]:
    d, L, H = spec.d_model, spec.n_layers, spec.n_heads
    if spec.mla is not None:
        m = spec.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        mats = []
        if m.q_lora_rank > 0:
            mats += [
                WeightMatrix("attn.q_down", d, m.q_lora_rank, L),
                WeightMatrix("attn.q_up", m.q_lora_rank, H * qk, L),
            ]
        else:
            mats.append(WeightMatrix("attn.q", d, H * qk, L))
        mats += [
            WeightMatrix("attn.kv_down", d, m.kv_lora_rank + m.qk_rope_head_dim, L),
            WeightMatrix("attn.kv_up", m.kv_lora_rank, H * (m.qk_nope_head_dim + m.v_head_dim), L),
            WeightMatrix("attn.out", H * m.v_head_dim, d, L),
        ]
        return mats
    q_width = H * spec.head_dim
    kv_width = spec.n_kv_heads * spec.head_dim
    return [
        WeightMatrix("attn.q", d, q_width, L),
        WeightMatrix("attn.k", d, kv_width, L),
        WeightMatrix("attn.v", d, kv_width, L),
        WeightMatrix("attn.out", q_width, d, L),
    ]


def _ffn_matrices(prefix: str, d: int, d_ff: int, gated: bool, layers: int, copies: int, active: int) -> list[WeightMatrix]:
    if layers == 0:
        return []
    names = ("gate", "up", "down") if gated else ("up", "down")
    return [
        WeightMatrix(f"{prefix}.{n}", ff_k, ff_n, layers, copies, active)
        for n in names
        for ff_k, ff_n in [(d_ff, d) if n == "down" else (d, d_ff)]
    ]


def weight_matrices(spec: ModelSpec) -> list[WeightMatrix]:
    """All matmul weights of `spec`: attention, FFN / MoE (router, routed and shared
    experts), and the output head (logits)."""
    d = spec.d_model
    gated = spec.ffn == "swiglu"
    mats = _attention_matrices(spec)
    mats += _ffn_matrices("mlp", d, spec.d_ff, gated, spec.n_dense_layers, 1, 1)
    if spec.moe is not None:
        moe, n_moe = spec.moe, spec.n_moe_layers
        mats.append(WeightMatrix("moe.router", d, moe.n_experts, n_moe))
        mats += _ffn_matrices("moe.expert", d, moe.d_ff_expert, gated, n_moe, moe.n_experts, moe.top_k)
        if moe.n_shared_experts:
            s = moe.n_shared_experts
            mats += _ffn_matrices("moe.shared", d, moe.d_ff_expert, gated, n_moe, s, s)
    mats.append(WeightMatrix("head", d, spec.vocab_size, 1, in_layers=False))
    return mats


def _non_matmul_params(spec: ModelSpec) -> int:
    """Parameters that take part in no matmul: untied input embedding, learned position
    embedding, norms (LayerNorm with bias when `bias`, else RMSNorm-style scale only),
    linear biases, MLA's latent norms."""
    d, L = spec.d_model, spec.n_layers
    count = 0
    if not spec.tied_embeddings:
        count += spec.vocab_size * d
    if spec.position_embedding == "learned":
        count += spec.seq_len * d
    norm_size = 2 * d if spec.bias else d
    count += (2 * L + 1) * norm_size
    if spec.mla is not None:
        count += L * (spec.mla.q_lora_rank + spec.mla.kv_lora_rank)
    if spec.bias:
        count += sum(m.n * m.layers * m.copies for m in weight_matrices(spec) if m.in_layers)
    return count


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts of one model (see module docstring for the conventions)."""

    total: int
    active: int  # total with only the active experts (= total for dense models)
    matmul: int  # matmul weights a token passes through (active experts, head once)
    matmul_layers: int  # matmul weights inside the transformer layers (no head)
    embedding: int  # input embedding + position embedding + output head parameters


def param_counts(spec: ModelSpec) -> ParamCounts:
    """Count the parameters of `spec`.

    Example: llama3-8b -> total 8.03e9 (Meta's model card: 8.03B).
    """
    mats = weight_matrices(spec)
    matmul_total = sum(m.params_total for m in mats)
    matmul_active = sum(m.params_active for m in mats)
    matmul_layers = sum(m.params_active for m in mats if m.in_layers)
    head = spec.vocab_size * spec.d_model
    inactive = matmul_total - matmul_active
    bias_inactive = 0
    if spec.bias and spec.moe is not None:
        bias_inactive = sum(m.n * m.layers * (m.copies - m.active) for m in mats)
    total = matmul_total + _non_matmul_params(spec)
    embedding = head + (0 if spec.tied_embeddings else head)
    if spec.position_embedding == "learned":
        embedding += spec.seq_len * spec.d_model
    return ParamCounts(
        total=total,
        active=total - inactive - bias_inactive,
        matmul=matmul_active,
        matmul_layers=matmul_layers,
        embedding=embedding,
    )
