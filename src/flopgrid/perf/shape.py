"""The per-layer quantities the performance model needs, taken once from a ModelSpec.

Every GEMM comes from `flopgrid.flops.weight_matrices` (one source for the weight list:
QKV with GQA, MLA projections, MLP / SwiGLU, MoE router, routed and shared experts, the
output head). Each is tagged with how tensor parallelism shards it (Megatron-LM, Shoeybi
et al. 2019 §3): column-parallel splits the output width, row-parallel the input width,
small low-rank / router weights stay replicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.flops.per_token import hardware_flops_per_token, model_flops_per_token
from flopgrid.flops.weights import param_counts, weight_matrices

COLUMN, ROW, REPLICATED = 0, 1, 2


@dataclass(frozen=True)
class Gemm:
    """One k x n weight GEMM of a layer. `expert`: tokens are routed to `copies` experts,
    `active` of them per token (flops per token = 2*k*n*active)."""

    name: str
    k: int
    n: int
    split: int  # COLUMN | ROW | REPLICATED
    expert: bool = False
    copies: int = 1
    active: int = 1


def _split(name: str) -> int:
    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("out", "down"):
        return ROW
    if leaf in ("q_down", "kv_down", "router"):
        return REPLICATED
    return COLUMN


@dataclass(frozen=True)
class ModelShape:
    """Scalars and GEMM lists of one model (lengths in elements, counts in parameters)."""

    name: str
    n_layers: int
    n_moe_layers: int
    d_model: int
    seq_len: int
    vocab_size: int
    n_heads: int
    n_kv_heads: int
    d_qk: int  # score head dim
    d_v: int  # value head dim
    kv_width: int  # K (or MLA latent) width per token, for CP traffic and activations
    attn_act_width: int  # Q + K + V + attention-output widths stored for the backward
    attn_gemms: tuple[Gemm, ...]
    dense_ffn_gemms: tuple[Gemm, ...]
    moe_gemms: tuple[Gemm, ...]
    ffn_act_width: int  # width of the activation input of a dense FFN (d_ff, 2*d_ff SwiGLU)
    ffn_width: int  # d_ff
    moe_act_width: int  # per token, all active experts (routed top_k + shared)
    moe_width: int  # per token: sum of active expert widths
    moe_top_k: int
    n_experts: int
    attn_params: int  # per layer
    dense_ffn_params: int  # per dense layer
    moe_shared_params: int  # per MoE layer, not sharded by ep (router, shared experts)
    moe_expert_params: int  # per MoE layer, all routed experts (sharded by ep)
    embedding_params: int  # input embedding (vocab x d_model)
    head_params: int  # output head (vocab x d_model)
    tied_embeddings: bool
    model_flops_per_token: float
    hardware_flops_per_token: tuple[float, float, float]  # recompute none, selective, full

    @property
    def n_dense_layers(self) -> int:
        return self.n_layers - self.n_moe_layers


@lru_cache(maxsize=512)
def model_shape(spec: ModelSpec) -> ModelShape:
    """Extract (and memoise) the shape of `spec`."""
    mats = weight_matrices(spec)
    attn, dense, moe = [], [], []
    for m in mats:
        if not m.in_layers:
            continue
        g = Gemm(m.name, m.k, m.n, _split(m.name), m.name.startswith("moe.expert"), m.copies, m.active)
        (attn if m.name.startswith("attn.") else dense if m.name.startswith("mlp.") else moe).append(g)
    gated = spec.ffn == "swiglu"
    d_ff = spec.d_ff or 4 * spec.d_model
    moe_width = moe_act = top_k = n_exp = 0
    moe_shared = moe_expert = 0
    if spec.moe is not None:
        top_k, n_exp = spec.moe.top_k, spec.moe.n_experts
        active = spec.moe.top_k + spec.moe.n_shared_experts
        moe_width = active * spec.moe.d_ff_expert
        moe_act = moe_width * (2 if gated else 1)
        for g in moe:
            if g.expert:
                moe_expert += g.k * g.n * g.copies
            else:
                moe_shared += g.k * g.n * g.copies
    kv_width = spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim if spec.mla else spec.n_kv_heads * spec.head_dim
    hw = tuple(hardware_flops_per_token(spec, rc) for rc in ("none", "selective", "full"))
    return ModelShape(
        name=spec.name,
        n_layers=spec.n_layers,
        n_moe_layers=spec.n_moe_layers,
        d_model=spec.d_model,
        seq_len=spec.seq_len,
        vocab_size=spec.vocab_size,
        n_heads=spec.n_heads,
        n_kv_heads=spec.n_kv_heads or spec.n_heads,
        d_qk=spec.attn_score_dim,
        d_v=spec.attn_value_dim,
        kv_width=kv_width,
        attn_act_width=spec.n_heads * spec.attn_score_dim * 2 + spec.n_heads * spec.attn_value_dim * 2
        if spec.mla else (2 * spec.n_heads + 2 * (spec.n_kv_heads or spec.n_heads)) * (spec.head_dim or 0),
        attn_gemms=tuple(attn),
        dense_ffn_gemms=tuple(dense),
        moe_gemms=tuple(moe),
        ffn_act_width=d_ff * (2 if gated else 1),
        ffn_width=d_ff,
        moe_act_width=moe_act,
        moe_width=moe_width,
        moe_top_k=top_k,
        n_experts=n_exp,
        attn_params=sum(g.k * g.n for g in attn),
        dense_ffn_params=sum(g.k * g.n for g in dense),
        moe_shared_params=moe_shared,
        moe_expert_params=moe_expert,
        embedding_params=spec.vocab_size * spec.d_model,
        head_params=spec.vocab_size * spec.d_model,
        tied_embeddings=spec.tied_embeddings,
        model_flops_per_token=model_flops_per_token(spec),
        hardware_flops_per_token=hw,  # type: ignore[arg-type]
    )


def total_params(spec: ModelSpec) -> int:
    """All stored parameters (for the memory sanity of the whole model)."""
    return param_counts(spec).total
