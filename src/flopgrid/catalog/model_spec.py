"""The model spec: a transformer's shape, as DESIGN.md fixes it.

Required: `n_layers`, `d_model`, `n_heads`, `vocab_size`, `seq_len`. Everything else has a
default. Field names are part of the public contract (JSON/YAML specs, the catalog).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MoESpec(BaseModel):
    """Mixture-of-experts FFN: `n_experts` routed experts of width `d_ff_expert`, `top_k`
    active per token, plus `n_shared_experts` always-on experts (DeepSeek). The first
    `n_dense_layers` layers keep a dense FFN of width `d_ff`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_experts: int = Field(gt=0)
    top_k: int = Field(gt=0)
    d_ff_expert: int = Field(gt=0)
    n_shared_experts: int = Field(default=0, ge=0)
    n_dense_layers: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _top_k_le_experts(self) -> "MoESpec":
        if self.top_k > self.n_experts:
            raise ValueError(f"moe.top_k ({self.top_k}) must be <= moe.n_experts ({self.n_experts})")
        return self


class MLASpec(BaseModel):
    """Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 §2.1).

    Queries go through a low-rank down/up projection (`q_lora_rank`), keys and values
    through a shared compressed latent (`kv_lora_rank`) plus a decoupled RoPE key of
    `qk_rope_head_dim`. Score head dim = qk_nope_head_dim + qk_rope_head_dim; value head
    dim = `v_head_dim`. flopgrid counts its projections exactly; see `flops.gemms`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    q_lora_rank: int = Field(ge=0)
    kv_lora_rank: int = Field(gt=0)
    qk_nope_head_dim: int = Field(gt=0)
    qk_rope_head_dim: int = Field(ge=0)
    v_head_dim: int = Field(gt=0)


class ModelSpec(BaseModel):
    """A decoder-only transformer (DESIGN.md "Model spec").

    Extensions beyond DESIGN.md, all optional: `bias` (linear and norm biases, GPT-2 /
    Megatron style), `position_embedding` (`learned` adds seq_len x d_model lookup
    parameters; `rope`/`alibi`/`none` add none), `mla` (DeepSeek latent attention).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    n_layers: int = Field(gt=0)
    d_model: int = Field(gt=0)
    n_heads: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    seq_len: int = Field(gt=0)
    n_kv_heads: int | None = Field(default=None, gt=0)
    head_dim: int | None = Field(default=None, gt=0)
    d_ff: int | None = Field(default=None, gt=0)
    ffn: Literal["gelu", "swiglu"] = "gelu"
    tied_embeddings: bool = True
    moe: MoESpec | None = None
    bias: bool = False
    position_embedding: Literal["rope", "learned", "alibi", "none"] = "rope"
    mla: MLASpec | None = None
    source: str = ""

    @model_validator(mode="after")
    def _fill_defaults(self) -> "ModelSpec":
        # frozen model: defaults are written through object.__setattr__ once, here.
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        if self.head_dim is None:
            if self.d_model % self.n_heads:
                raise ValueError(
                    f"d_model ({self.d_model}) is not divisible by n_heads ({self.n_heads}); give head_dim"
                )
            object.__setattr__(self, "head_dim", self.d_model // self.n_heads)
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})")
        if self.moe is not None and self.moe.n_dense_layers > self.n_layers:
            raise ValueError("moe.n_dense_layers must be <= n_layers")
        return self

    # Convenience views used by the flops and perf layers -----------------------------
    @property
    def n_moe_layers(self) -> int:
        return 0 if self.moe is None else self.n_layers - self.moe.n_dense_layers

    @property
    def n_dense_layers(self) -> int:
        return self.n_layers - self.n_moe_layers

    @property
    def attn_score_dim(self) -> int:
        """Per-head dimension of the Q·K^T product (Q in PaLM's 12·L·H·Q·T)."""
        if self.mla is not None:
            return self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim
        return self.head_dim  # type: ignore[return-value]

    @property
    def attn_value_dim(self) -> int:
        """Per-head dimension of the attention-weighted values."""
        return self.mla.v_head_dim if self.mla is not None else self.head_dim  # type: ignore[return-value]

    @property
    def is_moe(self) -> bool:
        return self.moe is not None
