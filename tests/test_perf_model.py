"""The performance model against hand-computed numbers and published formulas."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flopgrid.catalog import ModelSpec, MoESpec, default_cluster, load_model
from flopgrid.errors import UserInputError
from flopgrid.perf import CALIBRATION, Plan, predict
from flopgrid.perf.engine import stage_layer_arrays
from flopgrid.perf.fabric import Fabric
from flopgrid.perf.plan import stage_layers
from flopgrid.perf.search import search_plans

A100 = default_cluster("a100")
# GEMMs at exactly peak, HBM at exactly datasheet bandwidth: times become FLOPs / peak.
IDEAL = replace(CALIBRATION, gemm_eff_max=1.0, gemm_half_dim_elems=0.0, hbm_eff=1.0, link_eff=1.0)
PEAK = 312e12  # A100 bf16 dense, NVIDIA A100 datasheet

# A tiny GQA + SwiGLU model. Per layer, k x n of each weight (by hand):
# q 64x64, k 64x32, v 64x32 (2 kv heads of 16), out 64x64, gate/up 64x128, down 128x64
TINY = ModelSpec(name="tiny", n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, d_ff=128, ffn="swiglu",
                 vocab_size=100, seq_len=32)
TINY_LAYER_KN = 4096 + 2048 + 2048 + 4096 + 3 * 8192  # 36,864
# MoE variant: router 64x4, 2 of 4 experts active, each gate/up/down like the dense FFN
TINY_MOE = TINY.model_copy(update={"name": "tiny-moe", "moe": MoESpec(n_experts=4, top_k=2, d_ff_expert=128)})
TINY_MOE_LAYER_KN = 4096 + 2048 + 2048 + 4096 + 64 * 4 + 2 * 3 * 8192  # 61,696


def test_gemm_flops_of_one_layer_hand_computed():
    # one chip, one micro-batch of one sequence: M = 32 tokens; fwd 2*M*k*n, bwd twice that
    p = predict(TINY, A100, 1, Plan(tp=1, pp=1, dp=1), 32, calibration=IDEAL)
    assert p.breakdown["gemm"] == pytest.approx(3 * 2 * 2 * 32 * TINY_LAYER_KN / PEAK, rel=1e-12)
    # output head 64 x 100 on the last stage
    head_gemm = 3 * 2 * 32 * 64 * 100 / PEAK
    assert p.breakdown["head"] == pytest.approx(head_gemm + 32 * 100 * 16 / 2.039e12, rel=1e-9)


def test_moe_layer_flops_hand_computed_and_balanced_over_ep():
    for ep, dp in ((1, 1), (2, 2), (4, 4)):
        p = predict(TINY_MOE, A100, dp, Plan(tp=1, pp=1, dp=dp, ep=ep), 32 * dp, calibration=IDEAL)
        assert p.breakdown["gemm"] == pytest.approx(3 * 2 * 2 * 32 * TINY_MOE_LAYER_KN / PEAK, rel=1e-12), ep
    one = predict(TINY_MOE, A100, 1, Plan(tp=1, pp=1, dp=1), 32, calibration=IDEAL)
    four = predict(TINY_MOE, A100, 4, Plan(tp=1, pp=1, dp=4, ep=4), 128, calibration=IDEAL)
    assert one.breakdown["ep_comm"] == 0.0 and four.breakdown["ep_comm"] > 0.0
    # all-to-all bytes by hand: per layer fwd dispatch + combine, bwd the same = 4 x
    # (32 tokens x top_k 2 x 64 x 2 bytes) x 3/4 leaving the chip, over NVLink 300 GB/s,
    # plus 4 x log2(4) x 5 us latency
    expected = 2 * 4 * (32 * 2 * 64 * 2 * 3 / 4 / 300e9 + 2 * 5e-6)
    assert four.breakdown["ep_comm"] == pytest.approx(expected, rel=1e-9)


def test_moe_memory_experts_sharded_by_ep():
    # expert weights per layer: 4 experts x 3 x 64 x 128; others per layer 12,288 + router 256
    plan = dict(tp=1, pp=1, micro_batch=1)
    one = predict(TINY_MOE, A100, 4, Plan(dp=4, ep=1, **plan), 128)
    four = predict(TINY_MOE, A100, 4, Plan(dp=4, ep=4, **plan), 128)
    expert_params = 2 * 4 * 3 * 64 * 128
    saved_bytes = 2 * expert_params * 3 / 4  # bf16 weights of 3 of 4 experts
    got = (one.memory_breakdown_gib["weights"] - four.memory_breakdown_gib["weights"]) * 2**30
    assert got == pytest.approx(saved_bytes, rel=1e-9)


def test_weights_gradients_optimizer_are_16_bytes_per_parameter_and_shard_with_zero():
    gpt = load_model("megatron-1.7b")
    # parameters on one chip (tp=pp=1): 24 layers x 12 h^2 + one tied 51200 x h embedding
    h = 2304
    params = 24 * 12 * h * h + 51200 * h
    gib = 2**30
    base = predict(gpt, A100, 8, Plan(tp=1, pp=1, dp=8, micro_batch=1), 8 * 2048)
    mb = base.memory_breakdown_gib
    assert (mb["weights"], mb["gradients"], mb["optimizer"]) == pytest.approx(
        (2 * params / gib, 2 * params / gib, 12 * params / gib), rel=1e-12)
    z1 = predict(gpt, A100, 8, Plan(tp=1, pp=1, dp=8, zero=1), 8 * 2048).memory_breakdown_gib
    z2 = predict(gpt, A100, 8, Plan(tp=1, pp=1, dp=8, zero=2), 8 * 2048).memory_breakdown_gib
    assert z1["optimizer"] == pytest.approx(12 * params / 8 / gib, rel=1e-12)
    assert z2["gradients"] == pytest.approx(2 * params / 8 / gib, rel=1e-12)


def test_activation_memory_matches_korthikanti_formula():
    """Korthikanti et al. 2022 eq. 2: s*b*h*(34 + 5*a*s/h) bytes per layer without
    parallelism; eq. 4 with tp + sequence parallelism: divided by t; plus 4*s*b*v fp32
    logits on the last stage."""
    gpt = load_model("megatron-1.7b")
    s, b, h, a, L, v = 2048, 1, 2304, 24, 24, 51200
    gib = 2**30
    p = predict(gpt, A100, 1, Plan(tp=1, pp=1, dp=1), 2048, flash_attention=False)
    expected = L * s * b * h * (34 + 5 * a * s / h) + 4 * s * b * v
    assert p.memory_breakdown_gib["activations"] * gib == pytest.approx(expected, rel=1e-12)
    t = 8
    p8 = predict(gpt, A100, 8, Plan(tp=t, pp=1, dp=1, sequence_parallel=True), 2048, flash_attention=False)
    expected8 = L * s * b * h * (34 + 5 * a * s / h) / t + 4 * s * b * v / t
    assert p8.memory_breakdown_gib["activations"] * gib == pytest.approx(expected8, rel=1e-12)
    # selective recompute + SP (Korthikanti eq. 6): 34*s*b*h/t
    sel = predict(gpt, A100, 8, Plan(tp=t, pp=1, dp=1, sequence_parallel=True, recompute="selective"), 2048,
                  flash_attention=False)
    assert sel.memory_breakdown_gib["activations"] * gib == pytest.approx(
        L * 34 * s * b * h / t + 4 * s * b * v / t, rel=1e-12)


def test_pipeline_bubble_fraction_is_p_minus_1_over_m_v():
    gpt = load_model("gpt3-175b")
    for pp, v, seqs in ((8, 1, 64), (8, 3, 64), (4, 2, 32)):
        plan = Plan(tp=8, pp=pp, dp=1, interleave=v, recompute="full")
        p = predict(gpt, A100, 8 * pp, plan, seqs * 2048)
        steady = sum(p.breakdown[k] for k in ("gemm", "attention", "elementwise", "recompute", "tp_comm",
                                                "cp_comm", "ep_comm", "pp_comm", "head"))
        assert p.breakdown["pipeline_bubble"] / steady == pytest.approx((pp - 1) / (seqs * v), rel=1e-9)


def test_uneven_stages_first_and_last_hold_fewer_layers():
    # 7 layers on 3 stages: 2 / 3 / 2 (Megatron-LM / Llama 3 uneven split); the middle stage is
    # the slowest, so GEMM time = 3 layers' worth per micro-batch
    model = TINY.model_copy(update={"n_layers": 7, "d_model": 1024, "n_heads": 8, "n_kv_heads": 8, "d_ff": 4096,
                                    "vocab_size": 64})
    one = predict(model, A100, 1, Plan(tp=1, pp=1, dp=1), 32, calibration=IDEAL)
    three = predict(model, A100, 3, Plan(tp=1, pp=3, dp=1), 32, calibration=IDEAL)
    assert three.breakdown["gemm"] == pytest.approx(one.breakdown["gemm"] * 3 / 7, rel=1e-12)


def test_stage_layers_hand_computed():
    # Llama 3 405B (126 layers) on 16 stages: 16 x 8 = 128 slots, one layer fewer on the first
    # and last stage (arXiv:2407.21783 §3.3.2): 7, 8 x 14, 7
    assert stage_layers(126, 16, 1) == (7, *[8] * 14, 7)
    # interleaved, v=2: 32 virtual stages of ceil(126/32) = 4; 30 x 4 = 120 leaves 6 = 3 + 3
    # for virtual stages 0 and 31, on physical stages 0 and 15: 3 + 4, 8 x 14, 4 + 3
    assert stage_layers(126, 16, 2) == (7, *[8] * 14, 7)
    # v=4: 64 virtual of ceil(126/64) = 2; 62 x 2 = 124 leaves 2 = 1 + 1: 1 + 3 x 2 = 7
    assert stage_layers(126, 16, 4) == (7, *[8] * 14, 7)
    # v=3: 48 virtual of 3 need 46 x 3 = 138 > 126 layers: impossible
    assert stage_layers(126, 16, 3) is None
    # 126 on 8 stages, v=2: 16 virtual of 8, 14 x 8 = 112 leaves 14 = 7 + 7: 15, 16 x 6, 15
    assert stage_layers(126, 8, 2) == (15, *[16] * 6, 15)
    # 9 layers on 4 stages: ceil 3, 2 x 3 = 6 leaves 3 = 2 + 1 (the first takes the larger half)
    assert stage_layers(9, 4, 1) == (2, 3, 3, 1)
    assert stage_layers(96, 8, 3) == (12,) * 8  # divisible: even
    assert stage_layers(5, 4, 1) is None  # 2 + 2 in the middle leave 1 for both ends
    for L, pp, v in ((126, 16, 2), (126, 8, 2), (61, 5, 2), (100, 7, 2)):
        assert sum(stage_layers(L, pp, v)) == L
    # the engine's vectorised split agrees with the scalar one on every valid (L, pp, v)
    grid = [(L, pp, v) for L in (7, 9, 61, 80, 126) for pp in range(1, 17) for v in range(1, 7)
            if stage_layers(L, pp, v) is not None]
    for L, pp, v in grid:
        first, mid, last = (int(a[0]) for a in stage_layer_arrays(L, np.array([pp]), np.array([v])))
        ref = stage_layers(L, pp, v)
        assert (first, last) == (ref[0], ref[-1]) and (pp <= 2 or mid == max(ref[1:-1]))


def test_uneven_interleaved_stages_follow_the_slowest_stage():
    # 9 layers, pp 2, v 2: 4 virtual stages of ceil(9/4) = 3; 2 x 3 = 6 leaves 3 = 2 + 1, so
    # physical stages hold 2 + 3 = 5 and 3 + 1 = 4 (+ the head). The first is the slowest in
    # layers; with a 64-entry vocabulary the head is negligible, so GEMM time per step is
    # 5 layers' worth of micro-batches: 5/9 of the single-stage run.
    model = TINY.model_copy(update={"n_layers": 9, "d_model": 1024, "n_heads": 8, "n_kv_heads": 8, "d_ff": 4096,
                                    "vocab_size": 64})
    one = predict(model, A100, 1, Plan(tp=1, pp=1, dp=1), 64, calibration=IDEAL)
    two = predict(model, A100, 2, Plan(tp=1, pp=2, dp=1, interleave=2), 64, calibration=IDEAL)
    assert two.breakdown["gemm"] == pytest.approx(one.breakdown["gemm"] * 5 / 9, rel=1e-12)
    # bubble (p-1)/(m v) of the steady state still holds with uneven stages
    steady = sum(two.breakdown[k] for k in ("gemm", "attention", "elementwise", "recompute", "tp_comm",
                                             "cp_comm", "ep_comm", "pp_comm", "head"))
    assert two.breakdown["pipeline_bubble"] / steady == pytest.approx(1 / (two.micro_batches * 2), rel=1e-9)


def test_llama3_405b_uneven_interleaved_plan_predicts_and_is_searched():
    """The Llama 3 405B plan of arXiv:2407.21783 Table 4 (TP8 PP16 DP128, 126 layers, an
    interleaved schedule) is a valid plan, and the planner searches it when pinned."""
    llama = load_model("llama3-405b")
    h100 = default_cluster("h100", 16384)
    plan = Plan(tp=8, pp=16, dp=128, interleave=2, sequence_parallel=True)
    p = predict(llama, h100, 16384, plan, 2**24)
    assert p.step_time_s > 0 and p.micro_batches == 16
    with pytest.raises(UserInputError, match="first and last"):
        predict(llama, h100, 16384, replace(plan, interleave=3), 2**24)
    found = search_plans(llama, h100, 16384, 2**24, pins={
        "tp": 8, "pp": 16, "dp": 128, "micro_batch": 1, "recompute": "full", "zero": 1, "sequence_parallel": True},
        top_k=50)
    # v in 1..16 with a valid split of 126 layers over 16 stages: 1, 2, 4 (3: see above;
    # 5-7: 80-112 virtual stages of 2 need 156-220 layers; >= 8: more virtual stages than layers)
    by_v = {c.plan.interleave for c in found.candidates}
    assert found.searched == 3
    assert 3 not in by_v and {1, 2, 4} <= by_v


def test_breakdown_sums_to_step_time_and_tokens_per_second():
    p = predict(load_model("llama3-70b"), default_cluster("h100"), 64,
                Plan(tp=8, pp=4, dp=2, micro_batch=1, interleave=5, recompute="selective", zero=1,
                     sequence_parallel=True), 2**22)
    assert sum(p.breakdown.values()) == pytest.approx(p.step_time_s, rel=1e-12)
    assert p.tokens_per_second == pytest.approx(2**22 / p.step_time_s)
    assert p.fits and p.bottleneck


def test_tp_allreduce_bytes_hand_computed():
    # 22B Korthikanti model, tp=8 in a DGX node: 4 all-reduces per layer (2 fwd + 2 bwd) of
    # b*s*h*2 bytes; ring: 2*(8-1)/8 of it over 300 GB/s NVLink + 7 x 5 us latency
    model = load_model("megatron-18.4b").model_copy(update={"n_layers": 48, "n_heads": 64})
    p = predict(model, A100, 8, Plan(tp=8, pp=1, dp=1, micro_batch=4), 4 * 2048, calibration=IDEAL,
                framework="megatron-lm")  # 2022 stack: tensor-parallel traffic is not overlapped
    size = 4 * 2048 * 6144 * 2
    per_call = 2 * 7 / 8 * size / 300e9 + 7 * 5e-6
    assert p.breakdown["tp_comm"] == pytest.approx(48 * 4 * per_call, rel=1e-9)
    # Megatron-Core hides half of it behind the GEMMs (--tp-comm-overlap, profile tp_overlap 0.5)
    q = predict(model, A100, 8, Plan(tp=8, pp=1, dp=1, micro_batch=4), 4 * 2048, calibration=IDEAL,
                framework="megatron-core")
    assert q.breakdown["tp_comm"] == pytest.approx(0.5 * 48 * 4 * per_call, rel=1e-9)


def test_bad_plans_raise_user_input_errors_naming_the_constraint():
    gpt = load_model("gpt3-175b")
    with pytest.raises(UserInputError, match=r"tp\*pp\*dp\*cp"):
        predict(gpt, A100, 64, Plan(tp=8, pp=4, dp=1), 2**20)
    with pytest.raises(UserInputError, match="divide n_heads"):
        predict(gpt, A100, 56, Plan(tp=7, pp=8, dp=1), 2**20)
    with pytest.raises(UserInputError, match="dp\\*micro_batch"):
        predict(gpt, A100, 64, Plan(tp=8, pp=1, dp=8, micro_batch=3), 2**20)
    with pytest.raises(UserInputError, match="seq_len"):
        predict(gpt, A100, 64, Plan(tp=8, pp=1, dp=8), 2**20 + 1)


def test_plan_that_does_not_fit_is_a_valid_answer():
    p = predict(load_model("gpt3-175b"), A100, 8, Plan(tp=8, pp=1, dp=1), 2**20)
    assert not p.fits
    assert p.memory_gib_per_chip > p.hbm_gib_per_chip
    assert p.memory_breakdown_gib["optimizer"] > 100  # 175B x 12 bytes / 8 chips


def test_fabric_uses_cluster_figures():
    f = Fabric.of(A100, "fp16")
    assert (f.peak_flops, f.domain, f.scale_out_bytes_per_s) == (312e12, 8, 25e9)
