"""`flopgrid diagnose` on real metered CPU runs of the tiny GPT: an injected data stall is
attributed to data loading and tops the recommendations; a declared poor plan gives a
positive plan-choice part and the planner's own best plan (`flopgrid plan`, run
separately) as the recommendation; every number in the JSON recomputes from the JSON;
bad input exits 2 naming the mismatch."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

from conftest import assert_bad_input  # noqa: E402
from metered_runs import CFG, isolated_cache, loop_run, measure_and_cache_peak  # noqa: E402

from flopgrid.diagnose import GAP_PARTS, split_gap  # noqa: E402
from flopgrid.meter.badput import BADPUT_CATEGORIES  # noqa: E402

STEPS, BATCH, STALL_S = 20, 8, 0.03
POOR_PLAN = {"micro_batch": 1, "recompute": "full"}
CKPT_EVERY, CKPT_SLEEP_S = 5, 0.05


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real runs: one with a data stall, one declaring a poor plan (same cached peak)."""
    with isolated_cache(tmp_path_factory):
        peak = measure_and_cache_peak()
        d = tmp_path_factory.mktemp("diag")
        stall = loop_run(d / "stall.jsonl", steps=STEPS, batch_size=BATCH, stall_s=STALL_S)
        poor = loop_run(d / "poor.jsonl", steps=STEPS, batch_size=BATCH, plan=POOR_PLAN, framework="torchtitan")
        loop_run(d / "ckpt.jsonl", steps=STEPS, batch_size=BATCH, checkpoint_every=CKPT_EVERY,
                 checkpoint_sleep_s=CKPT_SLEEP_S)
    spec = d / "tiny.json"
    spec.write_text(CFG.model_spec().model_dump_json())
    return {"dir": d, "peak": peak, "stall": stall, "poor": poor, "spec": spec}


def _diagnose(cli, *args):
    proc = cli("diagnose", *map(str, args), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_injected_data_stall_is_attributed_to_data_loading_and_tops_the_recommendations(runs, cli):
    r = _diagnose(cli, runs["dir"] / "stall.jsonl")
    injected = runs["stall"]["injected_stall_s"]
    assert r["gap_seconds"]["data_loading"] == pytest.approx(injected, rel=0.10)
    assert r["gap_seconds"]["data_loading"] >= injected  # sleep never undershoots
    top = r["recommendations"][0]
    assert top["kind"] == "data_pipeline" and "data-loader" in top["action"]
    assert top["expected_mfu_gain"] > 0
    # measured MFU (wall) against the test's own clock and token count, FLOPs from the spec
    own = runs["stall"]
    from flopgrid.flops import model_flops_per_token

    truth = own["tokens"] / own["wall_s"] * model_flops_per_token(CFG.model_spec()) / runs["peak"]
    assert own["tokens"] == STEPS * BATCH * CFG.seq_len
    assert r["measured_mfu"] == pytest.approx(truth, rel=0.01)
    assert r["measured_mfu"] >= truth * 0.9999  # the meter's window lies inside the test's (shorter wall)


def test_poor_declared_plan_gives_plan_choice_and_the_planners_best(runs, cli):
    r = _diagnose(cli, runs["dir"] / "poor.jsonl")
    assert r["plan"]["recompute"] == "full" and r["framework"] == "torchtitan"
    assert r["gap_parts"]["plan_choice"] > 0
    assert r["ceiling_mfu"] > r["predicted_mfu"]
    # the planner and the predictor, run on their own from the same spec and the cached peak
    plan = cli("plan", str(runs["spec"]), "--hardware", "cpu", "--chips", "1", "--global-batch-tokens",
               str(BATCH * CFG.seq_len), "--dtype", "fp32", "--json")
    assert plan.returncode == 0, plan.stderr
    planner_best = json.loads(plan.stdout)["best"]
    assert r["best_plan"] == planner_best["plan"]
    assert r["ceiling_mfu"] == pytest.approx(planner_best["mfu"], rel=1e-9)
    pred = cli("predict", str(runs["spec"]), "--hardware", "cpu", "--chips", "1", "--global-batch-tokens",
               str(BATCH * CFG.seq_len), "--dtype", "fp32", "--tp", "1", "--pp", "1", "--dp", "1",
               "--recompute", "full", "--json")
    assert r["predicted_mfu"] == pytest.approx(json.loads(pred.stdout)["mfu"], rel=1e-9)
    rec = next(x for x in r["recommendations"] if x["kind"] == "plan")
    assert rec["plan"] == planner_best["plan"] and rec["expected_mfu_gain"] > 0
    assert r["components"]["declared"]["recompute_s"] > 0 == r["components"]["best"]["recompute_s"]


def test_checkpoint_heavy_run_gets_the_young_daly_interval(runs, cli):
    from flopgrid.reliability import LLAMA3_MTTF_CHIP_HOURS, job_mtbf_s, young_daly_interval_s

    r = _diagnose(cli, runs["dir"] / "ckpt.jsonl")
    assert r["checkpoints"] == STEPS // CKPT_EVERY
    assert r["gap_seconds"]["checkpoint_save"] >= r["checkpoints"] * CKPT_SLEEP_S
    rec = next(x for x in r["recommendations"] if x["kind"] == "checkpointing")
    cost_s = r["badput_s"]["checkpoint_save"] / r["checkpoints"]
    interval_s = young_daly_interval_s(1, LLAMA3_MTTF_CHIP_HOURS, cost_s)
    assert rec["details"]["interval_s"] == pytest.approx(interval_s, rel=1e-12)
    assert f"{interval_s:,.0f} s" in rec["action"]
    optimum = (2 * cost_s / job_mtbf_s(1, LLAMA3_MTTF_CHIP_HOURS)) ** 0.5
    observed = (r["badput_s"]["checkpoint_save"] + r["badput_s"]["wasted_progress"]) / r["wall_s"]
    assert rec["seconds"] == pytest.approx((observed - optimum) * r["wall_s"], rel=1e-9)
    assert rec["expected_mfu_gain"] > 0


def test_diagnose_runs_without_torch(runs):
    """The core install: diagnose reads JSONL with torch unimportable."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; from flopgrid.cli.main import main; "
            f"main(['diagnose', {str(runs['dir'] / 'stall.jsonl')!r}, '--json'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["measured_mfu"] > 0


@pytest.mark.parametrize("name", ["stall", "poor", "ckpt"])
def test_parts_add_up_exactly_and_every_number_recomputes_from_the_json(runs, cli, name):
    r = _diagnose(cli, runs["dir"] / f"{name}.jsonl")
    assert set(r["gap_parts"]) == set(GAP_PARTS)
    assert sum(r["gap_parts"].values()) == pytest.approx(r["ceiling_mfu"] - r["measured_mfu"], abs=1e-12)
    assert r["gap"] == pytest.approx(r["ceiling_mfu"] - r["measured_mfu"], abs=1e-15)
    x = r["useful_flops"] / (r["chips"] * r["peak_flops_per_chip"])
    wall, prod = r["wall_s"], r["productive_s"]
    assert r["measured_mfu"] == pytest.approx(x / wall, rel=1e-12)
    assert r["productive_mfu"] == pytest.approx(x / prod, rel=1e-12)
    assert prod + sum(r["badput_s"].values()) == pytest.approx(wall, rel=1e-12)
    sec = r["gap_seconds"]
    strag = min(r["straggler_s"], prod)
    assert sec["stragglers"] == pytest.approx(strag, abs=1e-15)
    assert sec["plan_choice"] == pytest.approx(x / r["predicted_mfu"] - x / r["ceiling_mfu"], rel=1e-9, abs=1e-12)
    assert sec["step_time_excess"] == pytest.approx(prod - strag - x / r["predicted_mfu"], rel=1e-9, abs=1e-12)
    assert sum(sec.values()) == pytest.approx(wall - x / r["ceiling_mfu"], rel=1e-12)
    for c in BADPUT_CATEGORIES:
        assert sec[c] == r["badput_s"][c]
    for k in GAP_PARTS:
        assert r["gap_parts"][k] == pytest.approx(r["ceiling_mfu"] * sec[k] / wall, rel=1e-12, abs=1e-15)
        assert r["gap_chip_hours_per_day"][k] == pytest.approx(sec[k] / wall * r["chips"] * 24, rel=1e-12, abs=1e-15)
    assert r["steps"] == STEPS and r["global_batch_tokens"] == BATCH * CFG.seq_len
    assert r["predicted_step_time_s"] == pytest.approx(r["global_batch_tokens"] * r["useful_flops"] / r["useful_flops"]
                                                       / (r["predicted_mfu"] * r["peak_flops_per_chip"] * r["chips"])
                                                       * (r["useful_flops"] / (r["global_batch_tokens"] * r["steps"])),
                                                       rel=1e-9)
    gains = [rec["expected_mfu_gain"] for rec in r["recommendations"]]
    assert gains == sorted(gains, reverse=True)
    for rec in r["recommendations"]:
        assert rec["expected_mfu_gain"] == pytest.approx(x / (wall - rec["seconds"]) - x / wall, rel=1e-9)
        assert set(rec) >= {"action", "expected_mfu_gain", "why"}


def test_plot_writes_a_self_contained_waterfall(runs, cli, tmp_path):
    out = tmp_path / "w.html"
    r = _diagnose(cli, runs["dir"] / "stall.jsonl", "--plot", out)
    html = out.read_text()
    assert r["plot"] == str(out) and "<html>" in html and "waterfall" in html
    assert "<script src=\"http" not in html and len(html) > 1_000_000  # plotly.js embedded, no network
    assert "data loading" in html and "measured" in html


@pytest.mark.parametrize("args,needle", [
    (["--model", "gpt2-124m"], "another model"),
    (["--chips", "4"], "--chips 4 does not match"),
    (["--hardware", "h100"], "--hardware h100 does not match"),
    (["--tp", "2"], "does not match the run's 1 chip"),
    (["--plot", "w.png"], "must end in .html"),
])
def test_mismatched_flags_are_bad_input(runs, cli, args, needle):
    assert_bad_input(cli("diagnose", str(runs["dir"] / "stall.jsonl"), *args), needle)


def test_empty_torn_corrupt_or_missing_logs_are_bad_input(runs, cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert_bad_input(cli("diagnose", str(empty)), "no usable events")
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"event": "start", "t": 17')  # killed while writing the first line
    assert_bad_input(cli("diagnose", str(torn)), "no usable events")
    lines = (runs["dir"] / "stall.jsonl").read_text().splitlines()
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("\n".join([lines[0], lines[1][:20], *lines[2:]]) + "\n")
    assert_bad_input(cli("diagnose", str(corrupt)), "line 2")
    assert_bad_input(cli("diagnose", str(tmp_path / "nope.jsonl")), "does not exist")


@settings(max_examples=200, deadline=None)
@given(st.floats(0.1, 1e3), st.floats(0.05, 0.95), st.floats(0.05, 0.9), st.floats(0.01, 0.99),
       st.floats(0.01, 0.99), st.lists(st.floats(0, 10), min_size=len(BADPUT_CATEGORIES), max_size=len(BADPUT_CATEGORIES)),
       st.floats(0, 5), st.integers(1, 4096))
def test_split_gap_parts_always_sum_to_the_gap(prod, m_prod, pred_frac, ceil_gain, _unused, badput, strag, chips):
    peak = 1e12
    useful = m_prod * prod * chips * peak
    badput_s = dict(zip(BADPUT_CATEGORIES, badput))
    wall = prod + sum(badput)
    predicted = min(0.99, m_prod / pred_frac) if pred_frac < 1 else m_prod
    ceiling = predicted + (1 - predicted) * ceil_gain
    g = split_gap(useful, chips, peak, wall, prod, badput_s, strag, predicted, ceiling)
    assert sum(g.mfu.values()) == pytest.approx(g.total, rel=1e-9, abs=1e-12)
    assert sum(g.seconds.values()) == pytest.approx(wall - useful / (chips * peak) / ceiling, rel=1e-9, abs=1e-9)
    assert sum(g.chip_hours_per_day.values()) == pytest.approx(g.total / ceiling * chips * 24, rel=1e-9, abs=1e-9)
