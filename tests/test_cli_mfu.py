"""`flopgrid mfu`, `peak`, `hardware`, `models` through the real CLI process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_bad_input

CONTRACT = ["params_total", "params_matmul", "model_flops_per_token", "hardware_flops_per_token",
            "peak_flops_per_chip", "tokens_per_second", "mfu", "hfu"]




def test_issue_example_prints_every_contract_key(cli):
    p = cli("mfu", "llama3-405b", "--hardware", "h100", "--chips", "16384", "--tokens-per-second-per-chip", "160", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert all(k in out for k in CONTRACT)
    assert out["tokens_per_second"] == 160 * 16384
    assert 0.40 < out["mfu"] < 0.45 and out["hfu"] == out["mfu"]


def test_human_output_states_convention(cli):
    p = cli("mfu", "gpt2-124m", "--hardware", "a100", "--chips", "1", "--step-time", "2.0",
            "--global-batch-tokens", "524288", "--attention", "causal", "--recompute", "selective")
    assert p.returncode == 0, p.stderr
    assert "MFU" in p.stdout and "causal attention" in p.stdout and "selective recompute" in p.stdout


def test_bad_inputs_one_line_exit_2(cli):
    assert_bad_input(cli("mfu", "llama3-406b", "--hardware", "h100", "--chips", "8", "--tokens-per-second", "1"),
         "unknown model", "did you mean")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h800", "--chips", "8", "--tokens-per-second", "1"),
         "unknown hardware", "a100-80gb")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100", "--chips", "0", "--tokens-per-second", "1"), "--chips")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100", "--chips", "-4", "--tokens-per-second", "1"), "--chips")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100", "--chips", "8", "--tokens-per-second", "-1"), "tokens per second")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100", "--chips", "8"), "throughput")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100", "--chips", "8", "--tokens-per-second", "1",
             "--attention", "half"), "attention")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "v100-sxm", "--chips", "8", "--tokens-per-second", "1"), "no bf16")
    assert_bad_input(cli("mfu", "llama3-8b", "--hardware", "h100"), "Missing option")


def test_malformed_spec_file(cli, tmp_path):
    f = tmp_path / "model.json"
    f.write_text('{"n_layers": 2, "d_model": 64')
    assert_bad_input(cli("mfu", str(f), "--hardware", "h100", "--chips", "1", "--tokens-per-second", "1"), "not valid JSON")
    f.write_text('{"n_layers": 2, "d_model": 64, "n_heads": 4, "vocab_size": 100}')
    assert_bad_input(cli("mfu", str(f), "--hardware", "h100", "--chips", "1", "--tokens-per-second", "1"), "seq_len")
    f.write_text('{"n_layers": -2, "d_model": 64, "n_heads": 4, "vocab_size": 100, "seq_len": 8}')
    assert_bad_input(cli("mfu", str(f), "--hardware", "h100", "--chips", "1", "--tokens-per-second", "1"), "n_layers")


def test_mfu_above_one_is_an_error_unless_allowed(cli):
    args = ("mfu", "llama3-8b", "--hardware", "h100", "--chips", "1", "--tokens-per-second", "1e6", "--json")
    p = cli(*args)
    assert_bad_input(p, "above 100%", "inconsistent", "1e+06 tokens/s", "--allow-over-peak")
    assert p.stdout == ""
    p = cli(*args, "--allow-over-peak")
    assert p.returncode == 0
    assert json.loads(p.stdout)["mfu"] > 1
    assert "above 100%" in p.stderr and "inconsistent" in p.stderr


def test_hf_config_without_training_length_warns_and_table_shows_seq_len(cli, tmp_path):
    """Llama 3.1's config.json says max_position_embeddings 131,072 (its context window):
    taken as the training length it gave ~190% MFU for a realistic run."""
    cfg = json.loads((Path(__file__).parent / "data/hf/llama3-8b.config.json").read_text())
    cfg["max_position_embeddings"] = 131072
    f = tmp_path / "config.json"
    f.write_text(json.dumps(cfg))
    args = ("mfu", str(f), "--hardware", "h100", "--chips", "8", "--tokens-per-second", "100000")
    p = cli(*args)
    assert p.returncode == 0, p.stderr
    warn = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(warn) == 1 and "131,072" in warn[0] and "assuming seq_len 4,096" in warn[0] and "--seq-len" in warn[0]
    assert "sequence length" in p.stdout and "4,096 tokens" in p.stdout
    p = cli(*args, "--seq-len", "8192", "--json")
    assert p.returncode == 0 and p.stderr == ""
    assert json.loads(p.stdout)["seq_len"] == 8192


def test_cpu_peak_measure_then_mfu(cli, tmp_path):
    pytest.importorskip("torch")
    env = {"FLOPGRID_CACHE_DIR": str(tmp_path)}
    p = cli("mfu", "gpt2-124m", "--hardware", "cpu", "--chips", "1", "--tokens-per-second", "10", env=env)
    assert p.returncode == 2 and "flopgrid peak --measure" in p.stderr
    p = cli("peak", "--measure", "--size", "256", "--seconds", "0.3", "--json", env=env)
    assert p.returncode == 0, p.stderr
    peak = json.loads(p.stdout)["peak_flops"]
    assert peak > 1e8
    p = cli("mfu", "gpt2-124m", "--hardware", "cpu", "--chips", "1", "--tokens-per-second", "10", "--dtype", "fp32",
            "--json", env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["peak_flops_per_chip"] == pytest.approx(peak)
    assert out["mfu"] == pytest.approx(out["model_flops_per_token"] * 10 / peak)


def test_catalog_commands(cli):
    p = cli("hardware", "list", "--json")
    names = {h["name"] for h in json.loads(p.stdout)["hardware"]}
    assert {"h100-sxm", "tpu-v5p", "gaudi3"} <= names
    p = cli("models", "show", "mixtral-8x7b", "--json")
    out = json.loads(p.stdout)
    assert out["params_active"] < out["params_total"]
    assert_bad_input(cli("hardware", "show", "nope"), "unknown hardware")


def test_cpu_peak_keeps_a_better_cached_figure(cli, tmp_path):
    """A lower measurement (a busy machine) never silently replaces the cached peak; the
    cache keeps the spread of the repeats, the time of measurement and the load average."""
    pytest.importorskip("torch")
    env = {"FLOPGRID_CACHE_DIR": str(tmp_path)}
    measure = ("peak", "--measure", "--size", "256", "--seconds", "0.3", "--repeats", "3", "--json")
    p = cli(*measure, env=env)
    assert p.returncode == 0, p.stderr
    cache = tmp_path / "cpu_peak.json"
    record = json.loads(cache.read_text())
    entry = record["measurements"]["fp32"]
    assert entry["repeats"] == 3 and 0 <= entry["spread"] < 1 and entry["measured_at"].endswith("Z")
    assert "load_average" in entry
    better = 1e15  # as if measured earlier on an idle machine (a petaFLOP/s CPU: above any real one)
    record["peak_flops"]["fp32"] = better
    record["measurements"]["fp32"]["flops_per_s"] = better
    cache.write_text(json.dumps(record))
    before = cache.read_text()
    p = cli(*measure, env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["stored"] is False and out["peak_flops"] == better and out["measured_flops"] < better
    assert "kept the cached fp32 peak" in p.stderr and "--force" in p.stderr
    assert cache.read_text() == before
    p = cli(*measure, "--force", env=env)
    assert json.loads(p.stdout)["stored"] is True
    assert json.loads(cache.read_text())["peak_flops"]["fp32"] < better
