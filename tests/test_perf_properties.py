"""Sanity properties of the performance model and the planner (hypothesis + sweeps)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.catalog import default_cluster, load_model
from flopgrid.errors import NoSolutionError
from flopgrid.perf import CALIBRATION, Plan, best_plan_mfu, default_global_batch_tokens, predict, search_plans
from flopgrid.perf.engine import evaluate
from flopgrid.perf.fabric import Fabric
from flopgrid.perf.search import enumerate_plans
from flopgrid.perf.shape import model_shape

H100 = default_cluster("h100")
A100 = default_cluster("a100")
MODELS = ["llama3-8b", "llama3-70b", "gpt3-175b", "mixtral-8x7b", "deepseek-v3", "palm-62b"]


def _all_plans(name: str, chips: int, cluster=H100):
    model = load_model(name)
    batch = default_global_batch_tokens(model, chips)
    plans, _ = enumerate_plans(model, cluster, chips, batch)
    return model, batch, plans


@pytest.mark.parametrize("name", MODELS)
def test_mfu_never_exceeds_gemm_ceiling(name):
    model, batch, plans = _all_plans(name, 256)
    res = evaluate(model_shape(model), Fabric.of(H100), plans, batch // model.seq_len, CALIBRATION)
    assert res["mfu"].max() <= CALIBRATION.gemm_eff_max
    assert np.all(res["hfu"] >= res["mfu"] - 1e-12)
    assert np.all(res["step_time_s"] > 0)


@pytest.mark.parametrize("name", ["llama3-8b", "gpt3-175b", "mixtral-8x7b"])
def test_memory_falls_with_zero_stage_and_recompute(name):
    model, batch, plans = _all_plans(name, 64)
    res = evaluate(model_shape(model), Fabric.of(H100), plans, batch // model.seq_len, CALIBRATION)
    mem = res["memory_bytes"]
    keys = np.stack([plans.tp, plans.pp, plans.dp, plans.cp, plans.ep, plans.mb, plans.v, plans.sp], axis=1)
    index = {}
    for i, row in enumerate(map(tuple, keys)):
        index[(row, int(plans.rc[i]), int(plans.zero[i]))] = mem[i]
    checked = 0
    for (row, rc, zero), value in index.items():
        if zero < 3 and (row, rc, zero + 1) in index:
            assert index[(row, rc, zero + 1)] <= value * (1 + 1e-12)
            checked += 1
        if rc < 2 and (row, rc + 1, zero) in index:
            assert index[(row, rc + 1, zero)] <= value * (1 + 1e-12)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("name", ["llama3-8b", "gpt3-175b"])
def test_more_chips_never_lowers_best_throughput(name):
    model = load_model(name)
    batch = 2**23  # fixed 8M-token batch: same work, more chips
    previous = 0.0
    for chips in (64, 128, 256, 512, 1024):
        tps = search_plans(model, A100, chips, batch, top_k=1, skip_dominated=True).best.tokens_per_second
        assert tps >= previous * 0.98, chips
        previous = tps


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(MODELS), chips=st.integers(min_value=1, max_value=3000),
       hw=st.sampled_from(["a100", "h100", "mi300x", "tpu-v5p", "l40s", "gb200"]))
def test_best_plan_mfu_never_raises_and_is_a_fraction(name, chips, hw):
    mfu = best_plan_mfu(load_model(name), default_cluster(hw, chips), chips)
    assert 0.0 <= mfu <= CALIBRATION.gemm_eff_max


def test_best_plan_mfu_zero_when_nothing_fits_and_memoised():
    assert best_plan_mfu(load_model("megatron-1t"), A100, 1) == 0.0
    model = load_model("llama3-8b")
    first = best_plan_mfu(model, H100, 64)
    again = best_plan_mfu(load_model("llama3-8b").model_copy(), H100.model_copy(), 64)
    assert first == again > 0.3
    best = search_plans(model, H100, 64, default_global_batch_tokens(model, 64), top_k=1).best
    assert first == pytest.approx(best.mfu)


def test_default_batch_is_divisible_and_about_a_million_tokens():
    m = load_model("megatron-1t")
    assert default_global_batch_tokens(m, 3072) == 6291456
    assert default_global_batch_tokens(m, 8) == 2**20
    assert default_global_batch_tokens(m, 7) % (7 * 2048) == 0


def test_search_pins_and_top_k():
    model = load_model("gpt3-175b")
    res = search_plans(model, A100, 64, 64 * 2048, pins={"tp": 8, "pp": 8, "recompute": "full"}, top_k=3)
    assert len(res.candidates) == 3
    assert all(c.plan.tp == 8 and c.plan.pp == 8 and c.plan.recompute == "full" for c in res.candidates)
    times = [c.step_time_s for c in res.candidates]
    assert times == sorted(times) and res.searched >= 3 and all(c.fits for c in res.candidates)
    # the planner's best is at least as fast as every plan it could pick: check a few by hand
    for plan in (Plan(tp=8, pp=8, dp=1, interleave=3, recompute="full"), Plan(tp=8, pp=8, dp=1, recompute="full")):
        p = predict(model, A100, 64, plan, 64 * 2048)
        assert not p.fits or p.step_time_s >= res.best.step_time_s - 1e-12


def test_brute_force_agrees_with_vectorised_search_on_a_small_case():
    model = load_model("llama3-8b")
    res = search_plans(model, H100, 16, 64 * 8192, top_k=1)
    plans, _ = enumerate_plans(model, H100, 16, 64 * 8192)
    best = None
    for i in range(len(plans)):
        p = predict(model, H100, 16, plans.plan(i), 64 * 8192)
        if p.fits and (best is None or p.step_time_s < best.step_time_s):
            best = p
    assert best is not None and best.step_time_s == pytest.approx(res.best.step_time_s, rel=1e-12)


def test_no_valid_plan_raises_no_solution():
    with pytest.raises(NoSolutionError, match="fits in memory"):
        search_plans(load_model("megatron-1t"), A100, 8, 2**20)
