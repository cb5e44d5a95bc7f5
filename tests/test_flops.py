"""FLOP accounting: hand-computed examples and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flopgrid.catalog import MODELS, ModelSpec, get_accelerator
from flopgrid.errors import UserInputError
from flopgrid.flops import (
    Throughput,
    attention_flops_per_token,
    hardware_flops_per_token,
    mfu_report,
    model_flops_per_token,
    param_counts,
    weight_matrices,
)


def test_tiny_model_by_hand():
    """2 layers, d=8, 2 heads, d_ff=32, vocab 10, T=4, tied, no bias.
    Per layer: attention 4·8·8 = 256, MLP 2·8·32 = 512 -> 768; x2 = 1536; head 80.
    matmul N = 1616; norms (2·2+1)·8 = 40 -> total 1656.
    model FLOPs/token = 6·1616 + 12·2·2·4·4 = 9696 + 768 = 10464."""
    m = ModelSpec(n_layers=2, d_model=8, n_heads=2, d_ff=32, vocab_size=10, seq_len=4)
    c = param_counts(m)
    assert (c.matmul, c.total, c.matmul_layers) == (1616, 1656, 1536)
    assert model_flops_per_token(m) == 10464
    assert model_flops_per_token(m, attention="causal") == 9696 + 384
    assert model_flops_per_token(m, attention="none") == 9696
    # full recompute: + forward of the layers 2·1536 + attention forward 768/3
    assert hardware_flops_per_token(m, "full") == 10464 + 3072 + 256
    assert hardware_flops_per_token(m, "selective") == 10464 + 256


def test_untied_input_embedding_is_not_a_matmul():
    tied = ModelSpec(n_layers=1, d_model=8, n_heads=2, vocab_size=10, seq_len=4)
    untied = tied.model_copy(update={"tied_embeddings": False})
    assert param_counts(untied).matmul == param_counts(tied).matmul
    assert param_counts(untied).total == param_counts(tied).total + 80


def test_moe_counts_only_active_experts():
    m = MODELS["mixtral-8x7b"]
    experts = [w for w in weight_matrices(m) if w.name.startswith("moe.expert")]
    assert {w.copies for w in experts} == {8} and {w.active for w in experts} == {2}
    c = param_counts(m)
    expert_one = 3 * 4096 * 14336 * 32
    assert c.total - c.active == 6 * expert_one


def test_mfu_llama3_405b_by_hand():
    """Llama 3 405B at 160 tokens/s/chip on 16,384 H100: 6·N_matmul + 12·L·H·Q·T."""
    m = MODELS["llama3-405b"]
    n = param_counts(m).matmul
    expected_fpt = 6 * n + 12 * 126 * 128 * 128 * 8192
    r = mfu_report(m, get_accelerator("h100"), 16384, 160 * 16384)
    assert r.model_flops_per_token == expected_fpt
    assert r.mfu == pytest.approx(expected_fpt * 160 / 989.5e12)


def test_throughput_forms_agree():
    a = Throughput.from_any(8, tokens_per_second=8000).tokens_per_second
    b = Throughput.from_any(8, tokens_per_second_per_chip=1000).tokens_per_second
    c = Throughput.from_any(8, step_time_s=2.0, global_batch_tokens=16000).tokens_per_second
    assert a == b == c == 8000
    for bad in ({"tokens_per_second": 0}, {"tokens_per_second": -1}, {"tokens_per_second": float("nan")},
                {}, {"tokens_per_second": 1, "tokens_per_second_per_chip": 1}, {"step_time_s": 1}):
        with pytest.raises(UserInputError):
            Throughput.from_any(8, **bad)


specs = st.builds(
    lambda L, heads, hd, kv_div, ff_mult, V, T, tied, swiglu: ModelSpec(
        n_layers=L, d_model=heads * hd, n_heads=heads, n_kv_heads=max(1, heads // kv_div) if heads % kv_div == 0 else heads,
        d_ff=ff_mult * heads * hd, vocab_size=V, seq_len=T, tied_embeddings=tied, ffn="swiglu" if swiglu else "gelu"),
    st.integers(1, 64), st.integers(1, 64), st.sampled_from([32, 64, 128]), st.sampled_from([1, 2, 4, 8]),
    st.integers(1, 8), st.integers(2, 200_000), st.integers(1, 32768), st.booleans(), st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(specs, st.floats(1.0, 1e9), st.integers(1, 100_000))
def test_invariants(spec, tps, chips):
    c = param_counts(spec)
    assert c.matmul_layers < c.matmul <= c.active <= c.total
    full = model_flops_per_token(spec)
    causal = model_flops_per_token(spec, attention="causal")
    none = model_flops_per_token(spec, attention="none")
    assert none == 6 * c.matmul
    assert full - none == pytest.approx(2 * (causal - none))
    assert attention_flops_per_token(spec) == pytest.approx(12 * spec.n_layers * spec.n_heads * spec.head_dim * spec.seq_len)
    hw = [hardware_flops_per_token(spec, r) for r in ("none", "selective", "full")]
    assert hw[0] == full and hw[0] < hw[1] < hw[2]
    # HFU with full recompute is at most 4/3 of MFU (the forward is one third of 6N).
    assert hw[2] <= full * 4 / 3 + 1e-6 * full
    acc = get_accelerator("h100")
    r = mfu_report(spec, acc, chips, tps)
    assert r.mfu == pytest.approx(full * tps / (chips * acc.peak("bf16")))
    r2 = mfu_report(spec, acc, chips, 2 * tps)
    assert r2.mfu == pytest.approx(2 * r.mfu)
