"""The mechanisms added for scale, overlap and the chip generation, each against a figure
computed by hand from its source (flopgrid.perf.fabric / engine / stack)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from flopgrid.catalog import default_cluster, load_model
from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.perf import CALIBRATION, Plan, predict
from flopgrid.perf.fabric import Fabric, all_gather_s, all_reduce_s
from flopgrid.perf.stack import flash_fraction, gemm_generation_factor

A100 = default_cluster("a100")  # Selene-like: 8 GPUs per NVSwitch node, 8 x 200 Gb/s HDR per node
H100 = default_cluster("h100")


def test_all_reduce_across_1536_ranks_hand_computed_against_nccl_bus_bandwidth():
    """1 GiB of gradients all-reduced over 1,536 A100 (192 DGX nodes, one rank per GPU).
    NCCL's bus bandwidth (nccl-tests doc/PERFORMANCE.md): busbw = algbw * 2(n-1)/n; on
    DGX A100 the inter-node share is bound by the node's 8 x 200 Gb/s HDR NICs, i.e. 25 GB/s
    per GPU, and the hierarchical algorithm moves 1/8 of the data per GPU across nodes."""
    fab = Fabric.of(A100)
    size = 2.0**30
    t = float(all_reduce_s(size, np.array([1536]), np.array([1]), fab, 1.0)[0])
    intra = 2 * 7 / 8 * size / 300e9  # NVLink 3: 300 GB/s per direction per GPU: 6.26 ms
    inter = 2 * 191 / 192 * (size / 8) / 25e9  # the node's share over 25 GB/s per GPU: 10.68 ms
    latency = 7 * 5e-6 + 2 * math.log2(192) * 10e-6  # ring inside the node, tree (log) across 192 nodes
    assert t == pytest.approx(max(intra, inter) + latency, rel=1e-12)  # pipelined: the NIC hop binds
    assert t == pytest.approx(0.01087, abs=1e-4)  # ~10.9 ms
    busbw = size / t * 2 * 1535 / 1536
    # the NIC-bound bus bandwidth of 8 x HDR-200 per node is 200 GB/s; the model at link_eff 1
    # is just under it (latency); the fitted link_eff then scales it to what NCCL reaches
    assert 0.97 * 200e9 < busbw < 200e9


def test_fsdp_gathers_hidden_behind_a_long_layer_leave_only_the_first_gather_and_last_reduce():
    """ZeRO-3 with prefetch (PyTorch FSDP): when each layer's compute outlasts its gathers,
    only the first all-gather and the last reduce-scatter of each micro-batch are exposed,
    and the compute beside the hidden ones is slowed by overlap_slowdown x their seconds."""
    spec = ModelSpec(name="fsdp-probe", n_layers=4, d_model=1024, n_heads=8, vocab_size=1024, seq_len=4096)
    plan = Plan(tp=1, pp=1, dp=8, micro_batch=4, zero=3)
    batch = 8 * 4 * 2 * 4096  # two micro-batches per step
    cal = replace(CALIBRATION, straggler_cv=0.0)
    p = predict(spec, A100, 8, plan, batch, calibration=cal, framework="megatron-core", ceiling=False)
    fab = Fabric.of(A100)
    layer_bytes = 12 * 1024 * 1024 * 2  # QKV + out + 2 MLP matrices, bf16
    ag = float(all_gather_s(layer_bytes, np.array([8]), np.array([1]), fab, cal.link_eff)[0])
    rs = ag  # bf16 reduce-scatter (profile fsdp_reduce_bytes 2): the same bytes
    assert p.breakdown["fsdp_comm"] == pytest.approx(2 * (ag + rs), rel=1e-9)
    hidden = 2 * 4 * (2 * ag + rs)  # 2 micro-batches x 4 layers x (gather fwd + gather bwd + reduce)
    assert p.breakdown["overlap_slowdown"] == pytest.approx(cal.overlap_slowdown * hidden, rel=1e-9)


def test_fsdp_without_prefetch_exposes_every_gather():
    spec = ModelSpec(name="fsdp-probe", n_layers=4, d_model=1024, n_heads=8, vocab_size=1024, seq_len=4096)
    plan = Plan(tp=1, pp=1, dp=8, micro_batch=4, zero=3)
    from flopgrid.catalog.framework import get_framework

    eager = get_framework("torchtitan").model_copy(update={"fsdp_prefetch": False, "name": "no-prefetch"})
    a = predict(spec, A100, 8, plan, 8 * 4 * 4096, framework="torchtitan", ceiling=False)
    b = predict(spec, A100, 8, plan, 8 * 4 * 4096, framework=eager, ceiling=False)
    fab = Fabric.of(A100)
    ag = float(all_gather_s(12 * 1024 * 1024 * 2, np.array([8]), np.array([1]), fab, CALIBRATION.link_eff)[0])
    # 4 layers x 2 gathers each, exposed, on top of the prefetched case's first gather
    assert b.breakdown["fsdp_comm"] - a.breakdown["fsdp_comm"] == pytest.approx(4 * 2 * ag, rel=1e-6)


def test_stragglers_grow_with_the_number_of_hosts_as_the_expected_maximum():
    """E[max of N normal host times] ~ mean (1 + cv sqrt(2 ln N)); one DGX node is one host."""
    model = load_model("llama3-8b")
    one = predict(model, H100, 8, Plan(tp=1, pp=1, dp=8, zero=3), 2**20)
    assert one.breakdown["stragglers"] == 0.0
    many = predict(model, H100, 512, Plan(tp=1, pp=1, dp=512, zero=3), 512 * 8192, ceiling=False)
    base = many.step_time_s - many.breakdown["stragglers"]
    assert many.breakdown["stragglers"] == pytest.approx(base * CALIBRATION.straggler_cv * math.sqrt(2 * math.log(64)))
    # 64 hosts: sqrt(2 ln 64) = 2.884, i.e. +5.5% at the fitted cv of 1.89%
    assert many.breakdown["stragglers"] / base == pytest.approx(CALIBRATION.straggler_cv * 2.884, rel=1e-3)


def test_gemm_efficiency_per_chip_generation_is_the_published_mamf_ratio():
    """Bekman, ml-engineering MAMF table: A100 SXM 267.9/312 = 85.9%, H100 SXM 792.1/989 = 80.1%."""
    assert gemm_generation_factor("a100-80gb") == 1.0
    assert gemm_generation_factor("h100-sxm") == pytest.approx(0.801 / 0.859)
    assert gemm_generation_factor("tpu-v5p") == 1.0  # no published MAMF: the A100-fitted curve
    # the same GEMM-bound layer: H100 time / A100 time = (peak ratio) / (MAMF ratio)
    spec = ModelSpec(name="g", n_layers=2, d_model=8192, n_heads=64, vocab_size=1024, seq_len=2048)
    a = predict(spec, A100, 1, Plan(tp=1, pp=1, dp=1, micro_batch=4), 4 * 2048, ceiling=False)
    h = predict(spec, H100, 1, Plan(tp=1, pp=1, dp=1, micro_batch=4), 4 * 2048, ceiling=False)
    assert h.breakdown["gemm"] / a.breakdown["gemm"] == pytest.approx((312 / 989.5) / (0.801 / 0.859), rel=1e-9)


def test_flash_attention_2_and_3_on_h100():
    """Shah et al. 2024 (FlashAttention-3): FA2 reaches 35% of H100 peak; FA3 75% forward and
    ~50% backward, 55% fwd+bwd; on A100 FA2 keeps Calibration.flash_eff (Dao 2023)."""
    assert flash_fraction("flash2", "h100-sxm", CALIBRATION) == 0.35
    assert flash_fraction("flash3", "h100-sxm", CALIBRATION) == pytest.approx(3.5 / (1 / 0.75 + 2.5 / 0.5), abs=0.005)
    assert flash_fraction("flash3", "a100-80gb", CALIBRATION) == CALIBRATION.flash_eff  # no FA3 off Hopper
    model = load_model("llama3-8b")
    plan = Plan(tp=1, pp=1, dp=8, zero=3)
    fa2 = predict(model, H100, 8, plan, 2**20, framework="torchtitan")
    fa3 = predict(model, H100, 8, plan, 2**20, framework="megatron-core")
    assert fa2.breakdown["attention"] / fa3.breakdown["attention"] == pytest.approx(0.55 / 0.35, rel=1e-9)


def test_unfused_elementwise_moves_twice_the_bytes():
    model = load_model("llama3-8b")
    plan = Plan(tp=1, pp=1, dp=8, zero=3)
    from flopgrid.catalog.framework import get_framework

    tt = get_framework("torchtitan")
    a = predict(model, H100, 8, plan, 2**20, framework=tt)
    b = predict(model, H100, 8, plan, 2**20, framework=tt.model_copy(update={"fused_elementwise": True}))
    assert a.breakdown["elementwise"] == pytest.approx(2.0 * b.breakdown["elementwise"], rel=1e-9)


def test_torchtitan_selective_op_checkpointing_recomputes_half_the_gemms():
    """torchtitan per-op SAC saves every other matmul: selective costs attention + half the
    forward GEMMs; Megatron's selective only the attention core."""
    model = load_model("llama3-8b")
    tt = predict(model, A100, 64, Plan(tp=1, pp=1, dp=64, zero=3, recompute="selective"), 64 * 8192,
                 framework="torchtitan")
    assert tt.breakdown["recompute"] == pytest.approx(tt.breakdown["attention"] / 3.5 + tt.breakdown["gemm"] / 6,
                                                      rel=1e-9)


def test_triton_flash_attention_half_of_flash2_with_the_head_dim_padded_to_a_power_of_two():
    """flash_attn_triton.py (the kernel llm-foundry's benchmarks ran, attn_impl triton): fwd+bwd
    "slightly slower" than FlashAttention(-1) CUDA, which FlashAttention-2 beats by ~2x (Dao
    2023 abstract): half the FA2 figure; BLOCK_HEADDIM = next power of two, so MPT-30B's head
    of 112 computes as 128."""
    from flopgrid.perf.stack import padded_head_dim

    assert flash_fraction("triton", "h100-sxm", CALIBRATION) == pytest.approx(0.5 * 0.35)
    assert flash_fraction("triton", "a100-80gb", CALIBRATION) == pytest.approx(0.5 * CALIBRATION.flash_eff)
    assert [padded_head_dim(d) for d in (8, 64, 80, 112, 128)] == [16, 64, 128, 128, 128]
    from flopgrid.catalog.framework import get_framework

    lf = get_framework("llm-foundry")
    spec = ModelSpec(name="mpt-30b-like", n_layers=2, d_model=7168, n_heads=64, vocab_size=1024, seq_len=8192)
    plan = Plan(tp=1, pp=1, dp=8, micro_batch=1, zero=3)
    tri = predict(spec, H100, 8, plan, 8 * 8192, framework=lf, ceiling=False)
    fa2 = predict(spec, H100, 8, plan, 8 * 8192, framework=lf.model_copy(update={"attention": "flash2"}), ceiling=False)
    # 2x slower kernel x 128/112 padded FLOPs = 2.2857x the attention seconds
    assert tri.breakdown["attention"] / fa2.breakdown["attention"] == pytest.approx(2 * 128 / 112, rel=1e-9)
    # by hand: 64 heads x 8192^2 scores x 2 (QK^T, PV) x 2 x 128 FLOPs, causal half, at 17.5% of 989.5 TFLOP/s,
    # forward + backward (2.5x) per layer, 2 layers
    fwd = 0.5 * 2 * 64 * 8192**2 * 2 * 128 / (989.5e12 * 0.175)
    assert tri.breakdown["attention"] == pytest.approx(2 * fwd * (1 + CALIBRATION.flash_bwd_over_fwd), rel=1e-3)


def test_fsdp_fp32_parameters_gather_twice_the_bytes_and_pay_autocast_casts():
    """Composer's mixed_precision DEFAULT (PyTorch 1.13 era) leaves FSDP's param_dtype unset:
    the all-gathers move fp32 (4 bytes per parameter) and autocast casts each gathered
    weight to bf16 at its forward use: read 4 + write 2 bytes per parameter at HBM speed."""
    from flopgrid.catalog.framework import get_framework

    lf = get_framework("llm-foundry")
    assert lf.fsdp_param_bytes == 4
    spec = ModelSpec(name="fsdp-probe", n_layers=4, d_model=1024, n_heads=8, vocab_size=1024, seq_len=4096)
    plan = Plan(tp=1, pp=1, dp=8, micro_batch=4, zero=3)
    batch = 8 * 4 * 2 * 4096  # two micro-batches per step
    cal = replace(CALIBRATION, straggler_cv=0.0)
    fp32 = predict(spec, A100, 8, plan, batch, calibration=cal, framework=lf, ceiling=False)
    bf16 = predict(spec, A100, 8, plan, batch, calibration=cal, ceiling=False,
                   framework=lf.model_copy(update={"fsdp_param_bytes": 2.0}))
    layer_params = 12 * 1024 * 1024
    cast_s = layer_params * 6 / (A100.accelerator.hbm_bytes_per_s * cal.hbm_eff)  # one cast per layer forward
    assert fp32.breakdown["elementwise"] - bf16.breakdown["elementwise"] == pytest.approx(2 * 4 * cast_s, rel=1e-9)
    fab = Fabric.of(A100)
    ag = float(all_gather_s(layer_params * 2, np.array([8]), np.array([1]), fab, cal.link_eff)[0])
    # exposed per micro-batch: the first gather (now fp32: 2x) and the last bf16 reduce-scatter
    assert fp32.breakdown["fsdp_comm"] == pytest.approx(2 * (2 * ag + ag), rel=1e-6)
    # gathered current + prefetched layer held as fp32: 2 x 4 bytes instead of 2 x 2
    extra_gib = 2 * (4 - 2) * layer_params / 2**30
    assert fp32.memory_breakdown_gib["weights"] - bf16.memory_breakdown_gib["weights"] == pytest.approx(extra_gib)


def test_llama3_context_parallelism_all_gathers_kv_on_the_critical_path():
    """Llama 3 §3.3.2: K and V are all-gathered over the cp ranks before the attention (and
    dK, dV reduce-scattered after the backward), exposed; Megatron-Core's ring hides its
    block passing behind the attention. GQA with 2 KV heads of 128, tp 2 -> one KV head per
    chip; seq 8192 over cp 4 -> 2,048 local tokens: K+V = 2048 x 2 x 128 x 2 bytes = 1 MiB
    per chip, 4 MiB gathered, over the 4 cp ranks of one NVLink node."""
    spec = ModelSpec(name="gqa-cp", n_layers=2, d_model=1024, n_heads=8, n_kv_heads=2, vocab_size=1024,
                     seq_len=8192, ffn="swiglu", d_ff=2816)
    plan = Plan(tp=2, pp=1, dp=1, cp=4, micro_batch=1, zero=1, sequence_parallel=True)
    cal = replace(CALIBRATION, straggler_cv=0.0)
    ag = predict(spec, H100, 8, plan, 8192, calibration=cal, framework="llama3", ceiling=False)
    ring = predict(spec, H100, 8, plan, 8192, calibration=cal, framework="megatron-core", ceiling=False)
    fab = Fabric.of(H100)
    gathered = 4 * 2048 * 2 * 128 * 2
    t = float(all_gather_s(gathered, np.array([4]), np.array([2]), fab, cal.link_eff)[0])
    by_hand = 0.75 * gathered / (H100.scale_up_bw * cal.link_eff) + 3 * H100.scale_up_latency_s
    assert t == pytest.approx(by_hand, rel=1e-12)
    # 2 layers x (forward all-gather + backward reduce-scatter), one micro-batch
    assert ag.breakdown["cp_comm"] == pytest.approx(2 * 2 * t, rel=1e-9)
    assert ring.breakdown["cp_comm"] == 0.0  # hidden behind the attention of each ring step
