"""`best_plan_mfu`: the MFU of the best fitting plan, memoised, for the market and the simulator."""

from __future__ import annotations

from functools import lru_cache

from flopgrid.catalog.cluster import Cluster
from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.errors import FlopgridError

MIN_DEFAULT_BATCH_TOKENS = 2**20  # ~1M tokens: the batch of GPT-3 / Llama-scale runs early in training


def default_global_batch_tokens(model: ModelSpec, chips: int) -> int:
    """The global batch used when none is given: chips * 2^k sequences, the smallest such that
    it holds at least max(2^20 tokens, one sequence per chip). Divisible by every dp of
    `chips`. Example: 3,072 chips, seq_len 2,048 -> 3,072 sequences (6,291,456 tokens)."""
    seqs = chips
    while seqs * model.seq_len < MIN_DEFAULT_BATCH_TOKENS:
        seqs *= 2
    return seqs * model.seq_len


BOUNDS: tuple[str, ...] = ("mid", "low", "high")


@lru_cache(maxsize=4096)
def _cached(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int, dtype: str,
            framework: str | None = None) -> tuple[float, float, float]:
    """(mfu, mfu_low, mfu_high) of the best plan; zeros when none fits."""
    from flopgrid.perf.search import search_plans

    try:
        best = search_plans(model, cluster, chips, global_batch_tokens, top_k=1, dtype=dtype,
                            skip_dominated=True, framework=_framework_of(framework)).best
        return float(best.mfu), float(best.mfu_low), float(best.mfu_high)
    except (FlopgridError, ValueError, ZeroDivisionError, FloatingPointError):
        return 0.0, 0.0, 0.0


def _framework_of(key: str | None):
    """A cache key back to a profile: None, a shipped name or file path, or a profile's JSON."""
    if key is not None and key.startswith("{"):
        from flopgrid.catalog.framework import FrameworkProfile

        return FrameworkProfile.model_validate_json(key)
    return key


def best_plan_mfu(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int | None = None,
                  dtype: str | None = None, *, framework=None, bound: str = "mid") -> float:
    """MFU (fraction) of the fastest plan that fits, 0.0 when no plan fits or the inputs
    admit none. Never raises for a valid model, cluster and chips >= 1 (an unknown
    `framework` or `bound` raises UserInputError). `dtype` defaults to the chip's training
    dtype (bf16, or fp16 on a V100); the MFU is against that dtype's dense peak.

    `framework`: a shipped profile name, a profile file or a FrameworkProfile (None: the
    default, megatron-core); the search covers only the plans it can run. `bound`: `mid`
    (the prediction), `low` or `high`: the ends of the band from the leave-one-source-out
    error of this kind of run (flopgrid.perf.band), so a market or simulator can value
    capacity at what the pool will deliver at worst (`low`). Memoised on the field values
    of `model` and `cluster` (frozen pydantic models hash by value), chips, the batch, the
    dtype and the framework."""
    if bound not in BOUNDS:
        from flopgrid.errors import UserInputError

        raise UserInputError(f"bound {bound!r} is not one of: {', '.join(BOUNDS)}")
    if chips < 1:
        return 0.0
    batch = default_global_batch_tokens(model, chips) if global_batch_tokens is None else int(global_batch_tokens)
    if framework is not None and not isinstance(framework, str):
        framework = framework.model_dump_json()
    mid, low, high = _cached(model, cluster, int(chips), batch, dtype or cluster.accelerator.training_dtype, framework)
    return {"mid": mid, "low": low, "high": high}[bound]
