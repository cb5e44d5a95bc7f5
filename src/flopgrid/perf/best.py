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


@lru_cache(maxsize=4096)
def _cached(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int, dtype: str) -> float:
    from flopgrid.perf.search import search_plans

    try:
        return float(search_plans(model, cluster, chips, global_batch_tokens, top_k=1, dtype=dtype,
                                  skip_dominated=True).best.mfu)
    except (FlopgridError, ValueError, ZeroDivisionError, FloatingPointError):
        return 0.0


def best_plan_mfu(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int | None = None,
                  dtype: str | None = None) -> float:
    """MFU (fraction) of the fastest plan that fits, 0.0 when no plan fits or the inputs
    admit none. Never raises for a valid model, cluster and chips >= 1. `dtype` defaults to
    the chip's training dtype (bf16, or fp16 on a V100); the MFU is against that dtype's
    dense peak. Memoised on the field values of `model` and `cluster` (frozen pydantic
    models hash by value), chips, the batch and the dtype."""
    if chips < 1:
        return 0.0
    batch = default_global_batch_tokens(model, chips) if global_batch_tokens is None else int(global_batch_tokens)
    return _cached(model, cluster, int(chips), batch, dtype or cluster.accelerator.training_dtype)
