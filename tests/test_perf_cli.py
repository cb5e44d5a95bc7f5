"""`flopgrid predict` / `flopgrid plan`: contract keys, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flopgrid.cli.main import main

PREDICT_KEYS = {"step_time_s", "tokens_per_second", "mfu", "hfu", "memory_gib_per_chip", "fits", "breakdown"}
PLAN_KEYS = {"best", "candidates", "searched", "seconds"}


def run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_predict_json_contract(capsys):
    code, out, _ = run(capsys, "predict", "gpt3-175b", "--hardware", "a100", "--chips", "64",
                       "--global-batch-tokens", "131072", "--tp", "8", "--pp", "8", "--dp", "1", "--interleave", "3",
                       "--recompute", "selective", "--sequence-parallel", "--json")
    assert code == 0
    data = json.loads(out)
    assert PREDICT_KEYS <= set(data)
    assert data["fits"] is True and 0 < data["mfu"] <= data["hfu"] < 1
    assert sum(data["breakdown"].values()) == pytest.approx(data["step_time_s"])


def test_predict_human_output(capsys):
    code, out, _ = run(capsys, "predict", "llama3-8b", "--hardware", "h100", "--chips", "8",
                       "--global-batch-tokens", "1048576", "--tp", "1", "--pp", "1", "--dp", "8", "--zero", "3")
    assert code == 0 and "MFU" in out and "bottleneck" in out and "gemm" in out


@pytest.mark.parametrize("args, needle", [
    (["--tp", "8", "--pp", "4", "--dp", "1"], "tp*pp*dp*cp"),
    (["--tp", "5", "--pp", "1", "--dp", "8", "--chips", "40"], "must divide n_heads"),
    (["--tp", "8", "--pp", "1", "--dp", "8", "--micro-batch", "3"], "dp*micro_batch"),
    (["--tp", "8", "--pp", "1", "--dp", "8", "--recompute", "most"], "recompute"),
])
def test_predict_bad_input_exit_2(capsys, args, needle):
    code, out, err = run(capsys, "predict", "gpt3-175b", "--hardware", "a100", "--chips", "64",
                         "--global-batch-tokens", "1048576", *args)
    assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_predict_not_fitting_is_not_an_error(capsys):
    code, out, _ = run(capsys, "predict", "gpt3-175b", "--hardware", "a100", "--chips", "8",
                       "--global-batch-tokens", "1048576", "--tp", "8", "--pp", "1", "--dp", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["fits"] is False and data["memory_breakdown_gib"]["optimizer"] > 100


def test_plan_json_contract_and_pins(capsys):
    code, out, _ = run(capsys, "plan", "gpt3-175b", "--hardware", "a100", "--chips", "64",
                       "--global-batch-tokens", "131072", "--tp", "8", "--top", "3", "--json")
    data = json.loads(out)
    assert code == 0 and PLAN_KEYS <= set(data)
    assert len(data["candidates"]) == 3 and all(c["plan"]["tp"] == 8 for c in data["candidates"])
    assert data["best"] == data["candidates"][0] and PREDICT_KEYS <= set(data["best"])


def test_plan_no_valid_plan_exit_1(capsys):
    code, _, err = run(capsys, "plan", "megatron-1t", "--hardware", "a100", "--chips", "8",
                       "--global-batch-tokens", "1048576")
    assert code == 1 and "fits in memory" in err


def test_plan_unknown_model_exit_2(capsys):
    code, _, err = run(capsys, "plan", "gpt-9", "--hardware", "a100", "--chips", "8",
                       "--global-batch-tokens", "1048576")
    assert code == 2 and "unknown model" in err


def test_plan_whole_process_runs():
    # the timed check is bench/plan_speed.py; here: the real entry point answers
    proc = subprocess.run([sys.executable, "-m", "flopgrid.cli.main", "plan", "megatron-1t", "--hardware", "a100",
                           "--chips", "3072", "--global-batch-tokens", "6291456", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["searched"] > 10_000 and data["best"]["fits"]


def test_plan_human_output_fits_80_columns():
    """The plan table stays readable in an 80-column terminal: no line wider than 80 and each
    candidate's whole plan text on one line."""
    env = {"COLUMNS": "80", "PATH": "", "TERM": "dumb"}
    out = subprocess.run([sys.executable, "-m", "flopgrid.cli.main", "plan", "megatron-1t", "--hardware", "a100",
                          "--chips", "3072", "--global-batch-tokens", "6291456", "--top", "5"],
                         capture_output=True, text=True, env=env, check=True).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    plan_lines = [line.strip() for line in lines if line.strip().startswith("tp")]
    assert len(plan_lines) == 5 and all(" pp" in p and " dp" in p and "rc=" in p for p in plan_lines)
