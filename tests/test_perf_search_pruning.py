"""The pruned planner (`skip_dominated`, what best_plan_mfu runs) finds the plan the
exhaustive search finds: memory first, the lightest recompute that fits, ZeRO 2 over 0/1,
sequence parallelism on (flopgrid.perf.search)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flopgrid.catalog import default_cluster, load_model
from flopgrid.perf import search_plans
from flopgrid.perf.best import default_global_batch_tokens

CASES = [
    ("llama3-8b", "h100", 512, None),  # dense, everything fits without recompute
    ("mixtral-8x7b", "h100", 256, None),  # MoE: expert parallelism adds a search dimension
    ("megatron-1t", "a100", 3072, "megatron-lm"),  # unfused attention: selective saves memory there
    ("llama3-70b", "h100", 64, "torchtitan"),  # FSDP stack, tight memory
    ("gpt3-175b", "a100", 1024, None),  # recompute needed for most plans
]


@pytest.mark.parametrize("name,hw,chips,framework", CASES)
def test_pruned_search_finds_the_exhaustive_best(name, hw, chips, framework):
    model, cluster = load_model(name), default_cluster(hw)
    batch = default_global_batch_tokens(model, chips)
    full = search_plans(model, cluster, chips, batch, top_k=1, framework=framework, ceiling=False)
    pruned = search_plans(model, cluster, chips, batch, top_k=1, framework=framework, ceiling=False,
                          skip_dominated=True)
    assert pruned.best.step_time_s == pytest.approx(full.best.step_time_s, rel=1e-12)
    # the same plan; only the ZeRO stage may differ, where stage 2 ties with 0/1 (same traffic,
    # the exhaustive order lists the lower stage first, the pruned search keeps stage 2)
    assert replace(pruned.best.plan, zero=0) == replace(full.best.plan, zero=0)
    assert pruned.best.plan.zero == full.best.plan.zero or full.best.plan.zero < 2 <= pruned.best.plan.zero
    assert pruned.fitting < full.fitting  # it timed fewer plans
