"""The performance model against published measurements (../shared/reference/perf_measured.csv):
Korthikanti et al. 2022 Table 5 step times and Megatron-LM SC21 (Narayanan et al. 2021)
Table 1 TFLOP/s per GPU, on NVIDIA Selene. One calibration for every row."""

from __future__ import annotations

import csv

import pytest

from flopgrid.perf.published import check_run, run_from_row


@pytest.fixture(scope="module")
def checks(shared_dir):
    with (shared_dir / "reference" / "perf_measured.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {row["id"]: check_run(run_from_row(row)) for row in rows}


def test_korthikanti_table5_step_times(checks):
    errs = [abs(c.error) for k, c in checks.items() if k.startswith("korthikanti-")]
    assert len(errs) == 8
    assert sum(errs) / len(errs) <= 0.05
    assert max(errs) <= 0.12


def test_megatron_sc21_table1_each_within_10_percent(checks):
    sc21 = {k: c for k, c in checks.items() if k.startswith("megatron-sc21-")}
    assert len(sc21) == 10
    for key, c in sc21.items():
        assert c.metric == "tflops_per_chip"
        assert (c.plan.tp, c.plan.pp, c.plan.dp) == (c.run.pins["tp"], c.run.pins["pp"], c.run.pins["dp"])
        assert c.plan.recompute == "full"
        assert abs(c.error) <= 0.10, (key, c.predicted, c.measured)


def test_korthikanti_rows_use_the_published_plan(checks):
    c = checks["korthikanti-gpt3-175b-selective"]
    assert (c.plan.tp, c.plan.pp, c.plan.dp, c.plan.interleave, c.plan.micro_batch) == (8, 8, 1, 3, 1)
    assert c.plan.recompute == "selective" and c.plan.sequence_parallel
    assert not c.run.flash_attention  # 2022 Megatron-LM: unfused attention
    # selective recompute is faster than full in the model, as measured (13.75 s vs 18.13 s)
    assert checks["korthikanti-gpt3-175b-selective"].predicted < checks["korthikanti-gpt3-175b-full"].predicted


def test_row_parser_flash_rule_and_optional_columns():
    row = {"id": "x", "source": "Some 2024 paper", "n_layers": "32", "d_model": "4096", "n_heads": "32",
           "n_kv_heads": "8", "d_ff": "14336", "ffn": "swiglu", "vocab_size": "128256", "seq_len": "8192",
           "tied_embeddings": "false", "hardware": "h100", "chips": "64", "tp": "", "pp": "", "dp": "",
           "zero": "3", "global_batch_seqs": "512", "recompute": "", "measured_tflops_per_chip": "400"}
    run = run_from_row(row)
    assert run.flash_attention and run.pins == {"zero": 3} and run.global_batch_tokens == 512 * 8192
    c = check_run(run)
    assert c.plan.zero == 3 and c.metric == "tflops_per_chip" and c.predicted > 0


def _published() -> dict:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "perf_published.csv"
    with path.open(newline="") as fh:
        return {row["id"]: (row, path.parent) for row in csv.DictReader(fh)}


def test_published_set_cites_every_row_and_names_its_stack():
    rows = _published()
    assert len(rows) >= 25
    for rid, (row, _) in rows.items():
        assert row["source"].strip() and row["url"].startswith("https://"), rid
    stacks = {row["framework"] or "megatron-core" for row, _ in rows.values()}
    assert {"llm-foundry", "torchtitan", "maxtext", "deepspeed"} <= stacks


def test_every_published_run_fits_in_memory_with_its_published_plan():
    """Runs that were published as running must fit (ZeRO-3 / FSDP with selective or full
    recompute included): memory is never pessimistic on them."""
    from flopgrid.perf import Plan, predict

    for rid, (row, base) in _published().items():
        run = run_from_row(row, base)
        if not run.fully_pinned or "zero" not in run.pins:
            continue
        plan = Plan(**run.pins)
        p = predict(run.model, run.cluster, run.chips, plan, run.global_batch_tokens, framework=run.framework,
                    flash_attention=run.flash_attention)
        assert p.fits, (rid, p.memory_gib_per_chip, p.hbm_gib_per_chip)


def test_a100_fsdp_rows_within_15_percent_in_sample():
    """llm-foundry's and torchtitan's A100 FSDP runs (in the fit of the overlap and straggler
    constants, so in-sample) in tokens/s per GPU, row by row. 15%, not 10%: llm-foundry's A100
    table reaches HFU 73.7% (MPT-30B, full recompute), GEMMs faster than the one A100 GEMM
    constant fitted with the Megatron-LM 2021-22 runs allows once the Triton attention kernel
    and the fp32 FSDP gathers of that stack are counted (the same stack's H100 table, which
    runs at ~0.7x its A100 MFU, is within 5% mean)."""
    rows = _published()
    for rid in ("mpt-70b-2k-64gpu-a100", "mpt-30b-2k-8gpu-a100", "tt-llama3-8b-a100x64-selective",
                "tt-llama3-70b-a100x64-full", "tt-llama2-13b-a100x64-none"):
        row, base = rows[rid]
        c = check_run(run_from_row(row, base))
        assert c.metric == "tokens_per_s_per_chip"
        assert c.measured == float(row["measured_tokens_per_s_per_chip"])
        assert abs(c.error) <= 0.15, (rid, c.error)


def test_model_tflops_metric_is_mfu_times_peak():
    row, base = _published()["llama3-405b-8192gpu"]
    run = run_from_row(row, base)
    c = check_run(run)
    assert c.metric == "model_tflops_per_chip" and c.measured == 430.0
    assert (c.plan.tp, c.plan.pp, c.plan.dp, c.plan.cp) == (8, 16, 64, 1)
    from flopgrid.perf import predict

    p = predict(run.model, run.cluster, run.chips, c.plan, run.global_batch_tokens, ceiling=False)
    assert c.predicted == pytest.approx(p.mfu * 989.5, rel=1e-12)  # H100 SXM bf16 dense peak, TFLOP/s
