"""Catalog: parameter counts against published figures, Hugging Face import, lookups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flopgrid.catalog import ACCELERATORS, MODELS, get_accelerator, get_model, load_cluster, load_model
from flopgrid.catalog.model_loading import SpecWarning
from flopgrid.errors import UserInputError
from flopgrid.flops import param_counts

HF = Path(__file__).parent / "data" / "hf"

DESIGN_HARDWARE = ["a100-80gb", "a100-40gb", "h100-sxm", "h100-pcie", "h100-nvl", "h200", "b200", "gb200",
                   "v100-sxm", "mi250x", "mi300x", "mi325x", "tpu-v3", "tpu-v4", "tpu-v5e", "tpu-v5p", "tpu-v6e",
                   "gaudi2", "gaudi3", "l40s"]


def test_published_parameter_counts():
    # Meta model card: 8.03B; Llama 3 paper: 405B (405.9B with this shape).
    assert param_counts(MODELS["llama3-8b"]).total / 1e9 == pytest.approx(8.03, abs=0.005)
    assert param_counts(MODELS["llama3-405b"]).total / 1e9 == pytest.approx(405.9, abs=0.1)
    # Mixtral paper: 46.7B total, 12.9B active.
    mixtral = param_counts(MODELS["mixtral-8x7b"])
    assert mixtral.total / 1e9 == pytest.approx(46.7, abs=0.05)
    assert mixtral.active / 1e9 == pytest.approx(12.9, abs=0.05)
    # PaLM Table 1: 540.35B.
    assert param_counts(MODELS["palm-540b"]).total / 1e9 == pytest.approx(540.35, rel=5e-4)
    # GPT-3: 175B.
    assert param_counts(MODELS["gpt3-175b"]).total / 175e9 == pytest.approx(1.0, abs=0.005)
    # DeepSeek-V3 report: 671B total, 37B activated per token.
    ds = param_counts(MODELS["deepseek-v3"])
    assert ds.total / 1e9 == pytest.approx(671, abs=1.0)
    assert ds.active / 1e9 == pytest.approx(37, abs=1.0)
    # Megatron SC21 Table 1 parameter counts (billions), eq. 2 includes position embeddings.
    for name, billions in [("megatron-1.7b", 1.7), ("megatron-18.4b", 18.4), ("megatron-145.6b", 145.6),
                           ("megatron-529.6b", 529.6), ("megatron-1t", 1008)]:
        assert param_counts(MODELS[name]).total / 1e9 == pytest.approx(billions, rel=0.03), name


def test_gpt2_exact_hf_count():
    """HF GPT2LMHeadModel.num_parameters() = 124,439,808 (tied head counted once)."""
    assert param_counts(MODELS["gpt2-124m"]).total == 124_439_808


@pytest.mark.parametrize("filename,catalog_name", [
    ("llama3-8b.config.json", "llama3-8b"),
    ("mixtral-8x7b.config.json", "mixtral-8x7b"),
    ("gpt2.config.json", "gpt2-124m"),
])
def test_hf_config_matches_catalog(filename, catalog_name):
    spec = load_model(str(HF / filename))
    assert param_counts(spec) == param_counts(MODELS[catalog_name])


def test_spec_file_unknown_field_warns_and_missing_field_errors(tmp_path):
    good = tmp_path / "m.yaml"
    good.write_text("n_layers: 2\nd_model: 64\nn_heads: 4\nvocab_size: 100\nseq_len: 32\ncolour: blue\n")
    with pytest.warns(SpecWarning, match="colour"):
        spec = load_model(str(good))
    assert spec.d_ff == 256 and spec.n_kv_heads == 4 and spec.head_dim == 16
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"n_layers": 2, "d_model": 64, "n_heads": 4, "vocab_size": 100}))
    with pytest.raises(UserInputError, match="seq_len"):
        load_model(str(bad))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UserInputError, match="not valid JSON"):
        load_model(str(broken))


def test_unknown_model_suggests():
    with pytest.raises(UserInputError, match="did you mean 'llama3-8b'"):
        get_model("llama3-8")


def test_every_design_hardware_name_and_aliases():
    for name in DESIGN_HARDWARE:
        acc = get_accelerator(name)
        assert acc.name == name and acc.sources["peak_flops"]
        assert all(v > 0 for v in acc.peak_flops.values())
        # a sparse figure would be 2x the dense one; fp8 may be at most 2x bf16
        if "fp8" in acc.peak_flops and "bf16" in acc.peak_flops:
            assert acc.peak_flops["fp8"] <= 2.0 * acc.peak_flops["bf16"] * 1.03  # datasheet rounding (gaudi2 865 vs 432, l40s 733 vs 362.05)
    assert set(DESIGN_HARDWARE) == set(ACCELERATORS)
    assert get_accelerator("a100").name == "a100-80gb"
    assert get_accelerator("H100").name == "h100-sxm"
    # reference/README.md dense peaks
    assert get_accelerator("a100").peak("bf16") == 312e12
    assert get_accelerator("h100").peak("bf16") == pytest.approx(989.5e12)
    assert get_accelerator("tpu-v4").peak("bf16") == 275e12


def test_unknown_hardware_never_falls_back():
    with pytest.raises(UserInputError, match="valid: a100-80gb"):
        get_accelerator("a100-sxm4")
    with pytest.raises(UserInputError, match="no bf16"):
        get_accelerator("v100-sxm").peak("bf16")


def test_cpu_needs_a_measurement():
    with pytest.raises(UserInputError, match="flopgrid peak --measure"):
        get_accelerator("cpu")


def test_clusters_default_and_file(tmp_path):
    selene = load_cluster(None, hardware="a100")
    assert selene.scale_up_domain == 8 and selene.scale_out_bytes_per_s == 25e9  # 8 x 200 Gb/s per 8 GPUs
    assert load_cluster(None, hardware="h100").scale_out_bytes_per_s == 50e9  # 8 x 400 Gb/s NDR
    f = tmp_path / "c.yaml"
    f.write_text("hardware: h100\nchips: 64\nscale_up_domain: 8\nscale_out_bytes_per_s: 1.0e10\n")
    c = load_cluster(str(f))
    assert c.hardware == "h100-sxm" and c.name == "c" and c.scale_up_bw == 450e9
    with pytest.raises(UserInputError, match="unknown cluster"):
        load_cluster("nope")
