"""best_plan_mfu computes in the chip's training dtype (fp16 on a V100, which has no bf16)."""

from __future__ import annotations

import pytest

from flopgrid.catalog import get_accelerator, get_model, load_cluster
from flopgrid.perf import best_plan_mfu, search_plans


def test_training_dtype_by_chip():
    assert get_accelerator("h100").training_dtype == "bf16"
    assert get_accelerator("v100-sxm").training_dtype == "fp16"


def test_v100_best_plan_is_valued_in_fp16():
    model, cluster = get_model("megatron-1.7b"), load_cluster(None, "v100-sxm")
    batch = 8 * 2048 * 64
    mfu = best_plan_mfu(model, cluster, 8, batch)
    assert 0.0 < mfu < 1.0
    assert mfu == pytest.approx(search_plans(model, cluster, 8, batch, top_k=1, dtype="fp16").best.mfu)
    assert best_plan_mfu(model, cluster, 8, batch, dtype="bf16") == 0.0  # no bf16 peak: no plan, no raise
