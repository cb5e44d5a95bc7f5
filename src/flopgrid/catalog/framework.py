"""Framework profiles: the training software stack as data (DESIGN.md "catalog ... framework profile").

A profile names what a stack does that changes step time or memory: which
communications it overlaps with compute, the attention kernel, whether element-wise ops
are fused, FSDP prefetching, the pipeline schedules and ZeRO stages it offers, the
recompute modes, and the parallelisms it can run. Every feature carries its source in
`sources` (feature name -> citation); a profile without a source for a feature it sets is
rejected. Profiles ship as YAML in `flopgrid/catalog/frameworks/` and any user file with
the same fields is accepted (`--framework FILE`). Format: docs/formats/framework-profile.md.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flopgrid.catalog.spec_files import format_validation_error, read_mapping
from flopgrid.errors import UserInputError, did_you_mean

DEFAULT_FRAMEWORK = "megatron-core"
FEATURES: tuple[str, ...] = (
    "attention", "fused_elementwise", "dp_overlap", "tp_overlap", "fsdp_prefetch", "fsdp_reduce_bytes", "fsdp_param_bytes",
    "pipeline_schedules", "zero_stages", "recompute", "tensor_parallel", "context_parallel", "expert_parallel",
    "sequence_parallel", "max_tp", "selective_gemm_recompute", "cp_algorithm",
)


class FrameworkProfile(BaseModel):
    """What one training stack does, each feature with its source.

    attention: `unfused` (Megatron-LM 2021-22 softmax path), `flash2` (FlashAttention-2,
    Dao 2023), `flash3` (FlashAttention-3 / cuDNN fused attention on Hopper, Shah et al.
    2024; other chips fall back to their FlashAttention-2 efficiency) or `triton` (the
    experimental Triton FlashAttention kernel of flash_attn_triton.py, 2022-23: half the
    FlashAttention-2 throughput, head dimension padded to a power of two).
    fused_elementwise: norms, bias-dropout-add and activations run as fused kernels
    (one read and one write per op); unfused stacks move each intermediate through HBM.
    dp_overlap: fraction of the data-parallel gradient reduction hidden behind the backward
    (0 = reduced after the backward). tp_overlap: fraction of tensor-parallel traffic hidden
    behind GEMMs. fsdp_prefetch: FSDP issues the next layer's all-gather while the current
    layer computes. fsdp_reduce_bytes: bytes per gradient element in FSDP's reduce-scatter
    (2 bf16, 4 fp32). pipeline_schedules: subset of `1f1b`, `interleaved` (empty: no
    pipeline parallelism). zero_stages: ZeRO stages offered (3 = FSDP / fully sharded).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str = ""
    years: str = ""
    description: str = ""
    attention: Literal["unfused", "flash2", "flash3", "triton"] = "flash2"
    fused_elementwise: bool = True
    dp_overlap: float = Field(default=0.0, ge=0.0, le=1.0)
    tp_overlap: float = Field(default=0.0, ge=0.0, le=1.0)
    fsdp_prefetch: bool = True
    fsdp_reduce_bytes: float = Field(default=2.0, gt=0.0)
    fsdp_param_bytes: float = Field(
        default=2.0, gt=0.0,
        description="bytes per parameter element FSDP all-gathers and holds gathered (2: bf16 param_dtype; 4: fp32 "
                    "params, cast to bf16 by autocast at every forward use)")
    pipeline_schedules: tuple[Literal["1f1b", "interleaved"], ...] = ("1f1b", "interleaved")
    zero_stages: tuple[int, ...] = (0, 1, 2, 3)
    recompute: tuple[Literal["none", "selective", "full"], ...] = ("none", "selective", "full")
    tensor_parallel: bool = True
    context_parallel: bool = True
    expert_parallel: bool = True
    sequence_parallel: bool = True
    max_tp: int | None = Field(default=None, ge=1, description="largest tp the stack runs (None: the scale-up domain)")
    selective_gemm_recompute: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="fraction of a layer's forward GEMMs that `selective` recompute re-runs (Megatron: 0, only "
                    "the attention core; torchtitan per-op SAC: every other matmul)")
    cp_algorithm: Literal["ring", "allgather"] = Field(
        default="ring",
        description="context parallelism: `ring` passes K/V blocks around the cp ranks while attention runs "
                    "(Megatron-Core, hidden up to the attention time); `allgather` all-gathers K and V before the "
                    "attention and reduce-scatters their gradients after it, both exposed (Llama 3 §3.3.2)")
    sources: dict[str, str] = Field(default_factory=dict, description="feature -> citation")

    @model_validator(mode="after")
    def _check(self) -> FrameworkProfile:
        bad = [z for z in self.zero_stages if z not in (0, 1, 2, 3)]
        if bad or not self.zero_stages:
            raise ValueError(f"zero_stages must be a non-empty subset of 0, 1, 2, 3, got {list(self.zero_stages)}")
        if not self.recompute:
            raise ValueError("recompute must list at least one of none, selective, full")
        unsourced = [f for f in self.model_fields_set & set(FEATURES) if not self.sources.get(f)]
        if unsourced:
            raise ValueError(f"features without a source in `sources`: {', '.join(sorted(unsourced))}")
        unknown = set(self.sources) - set(FEATURES)
        if unknown:
            raise ValueError(f"sources name unknown features {sorted(unknown)}; features: {', '.join(FEATURES)}")
        return self

    @property
    def pipeline(self) -> bool:
        return bool(self.pipeline_schedules)

    @property
    def interleaved(self) -> bool:
        return "interleaved" in self.pipeline_schedules


def _builtin_dir():
    return resources.files("flopgrid.catalog") / "frameworks"


def framework_names() -> tuple[str, ...]:
    """Names of the shipped profiles."""
    return tuple(sorted(p.name[:-5] for p in _builtin_dir().iterdir() if p.name.endswith(".yaml")))


def _parse(data: dict, where: str) -> FrameworkProfile:
    try:
        return FrameworkProfile(**data)
    except ValidationError as exc:
        raise UserInputError(f"framework profile {where}: {format_validation_error(exc)}") from None
    except TypeError as exc:
        raise UserInputError(f"framework profile {where}: {exc}") from None


@lru_cache(maxsize=64)
def get_framework(name: str | None = None) -> FrameworkProfile:
    """A shipped profile by name (default `megatron-core`); unknown names list the valid ones."""
    key = (name or DEFAULT_FRAMEWORK).strip().lower()
    names = framework_names()
    if key not in names:
        raise UserInputError(f"unknown framework {name!r}{did_you_mean(key, names)}; choose one of: {', '.join(names)} "
                             "or give a profile file")
    import yaml

    text = (_builtin_dir() / f"{key}.yaml").read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster to parse
    return _parse(yaml.load(text, Loader=loader), key)


def load_framework(name_or_file: str | None = None) -> FrameworkProfile:
    """A shipped profile name, or a JSON/YAML file with the FrameworkProfile fields."""
    if name_or_file is None:
        return get_framework(None)
    path = Path(name_or_file)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.exists():
        if not path.exists():
            raise UserInputError(f"framework file {name_or_file!r} does not exist")
        return _parse(read_mapping(path), str(path))
    return get_framework(name_or_file)
