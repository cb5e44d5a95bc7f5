"""The vectorised performance model: step time, components and memory of many plans at once.

One call evaluates an array of plans (numpy, one entry per plan), so `predict` (one plan)
and the planner (tens of thousands) share every formula.

Per layer and micro-batch, on the slowest pipeline stage:
- GEMMs (every weight of `flopgrid.flops.weight_matrices`, tensor-parallel split as
  Megatron-LM does) at a size-dependent efficiency `Calibration.gemm_eff_max * x/(x+x0)`
  (x the smallest GEMM dimension after sharding); backward = 2 x forward.
- attention core: FlashAttention (causal blocks skipped, `flash_eff` of peak), or the
  unfused Megatron path: batched GEMMs at the roofline plus softmax / dropout over the
  T x T scores at HBM bandwidth (Korthikanti et al. 2022 §4.1 byte counts).
- memory-bound ops (norms, bias-dropout-add, GeLU/SwiGLU, MoE permutation) at HBM
  bandwidth; with sequence parallelism the norm/dropout regions split over tp.
- tensor-parallel all-reduce (or reduce-scatter + all-gather with sequence parallelism,
  the same bytes), 2 forward + 2 backward per layer (Korthikanti et al. 2022 §4.2.2);
  context-parallel ring exchange of K/V overlapped with attention; expert-parallel
  all-to-all, dispatch + combine, forward and backward.
- recompute: `selective` re-runs the attention core forward, `full` the whole layer
  forward including its tp communication (Korthikanti et al. 2022 §5).
Pipeline (Narayanan et al. 2021 §2.2): step = (m + (p-1)/v) * t_stage with m micro-batches,
v interleaved chunks; uneven stages (layers not dividing by p*v) give the first and last
virtual stages fewer layers (`stage_layer_arrays`) and the step follows the slowest
physical stage (the last also runs the output head). Then the exposed
data-parallel gradient reduction, FSDP gathers (prefetched, hidden behind compute up to
its length), and the optimizer update at HBM bandwidth.

Placement follows Megatron-Core's default rank order tp-cp-ep-dp-pp (tp innermost):
tp inside a node, then cp, ep, dp, with pp outermost.

Memory per chip (first and last stage, the larger): 16 bytes per parameter of mixed-
precision Adam (2 weight + 2 gradient + 12 optimizer, Rajbhandari et al. 2020) with ZeRO
sharding over dp*cp (experts over dp*cp/ep); activations per Korthikanti et al. 2022
eq. 1-6 generalised to GQA / SwiGLU / MoE, divided by tp (and, with sequence
parallelism, all of it), times the micro-batches in flight on the first stage (p for 1F1B,
times 1 + (p-1)/(p v) interleaved); plus the stated workspace and fragmentation allowance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.perf.constants import Calibration
from flopgrid.perf.fabric import Fabric, all_gather_s, all_reduce_s, all_to_all_s, members_per_domain, p2p_s
from flopgrid.perf.plan import RECOMPUTE_CHOICES, RECOMPUTE_CODE, Plan
from flopgrid.perf.shape import COLUMN, ROW, Gemm, ModelShape
from flopgrid.perf.stack import Stack, padded_head_dim

BREAKDOWN_KEYS: tuple[str, ...] = (
    "gemm", "attention", "elementwise", "recompute", "tp_comm", "cp_comm", "ep_comm", "pp_comm", "head",
    "pipeline_bubble", "dp_comm", "fsdp_comm", "optimizer", "overlap_slowdown", "stragglers",
)
MEMORY_KEYS: tuple[str, ...] = ("weights", "gradients", "optimizer", "activations", "allowance")
ADAM_UPDATE_BYTES_PER_PARAM = 30.0  # read fp32 param, m, v, grad (16); write param, m, v (12) + bf16 copy (2)


@dataclass(frozen=True)
class PlanArrays:
    """A batch of plans as integer numpy arrays (rc: 0 none, 1 selective, 2 full)."""

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    mb: np.ndarray
    v: np.ndarray
    rc: np.ndarray
    zero: np.ndarray
    sp: np.ndarray

    @staticmethod
    def of(plans: list[Plan]) -> "PlanArrays":
        cols = zip(*[(p.tp, p.pp, p.dp, p.cp, p.ep, p.micro_batch, p.interleave, RECOMPUTE_CODE[p.recompute],
                      p.zero, int(p.sequence_parallel)) for p in plans])
        return PlanArrays(*[np.array(c, dtype=np.int64) for c in cols])

    def __len__(self) -> int:
        return len(self.tp)

    @staticmethod
    def concat(parts: "list[PlanArrays]") -> "PlanArrays":
        fields = PlanArrays.__dataclass_fields__
        return PlanArrays(*[np.concatenate([getattr(p, f) for p in parts]) for f in fields])

    def take(self, idx: np.ndarray) -> "PlanArrays":
        return PlanArrays(*[getattr(self, f)[idx] for f in self.__dataclass_fields__])

    def plan(self, i: int) -> Plan:
        return Plan(tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), cp=int(self.cp[i]),
                    ep=int(self.ep[i]), micro_batch=int(self.mb[i]), interleave=int(self.v[i]),
                    recompute=RECOMPUTE_CHOICES[int(self.rc[i])], zero=int(self.zero[i]),
                    sequence_parallel=bool(self.sp[i]))


def stage_layer_arrays(n_layers: int, pp: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layers on the first, a middle and the last physical stage of every plan: the
    vectorised `flopgrid.perf.plan.stage_layers` (middle virtual stages hold
    ceil(L/(pp v)), the first and last virtual stages split the rest, first the larger
    half; physical stage i holds virtual stages i, i+pp, ...). `mid` is 0 when pp <= 2."""
    n = pp * v
    even = n_layers % n == 0
    c = -(-n_layers // n)
    rem = n_layers - (n - 2) * c
    fv = np.where(even, c, -(-rem // 2))
    lv = np.where(even, c, rem - fv)
    first = np.where(pp == 1, n_layers, fv + (v - 1) * c)
    last = np.where(pp == 1, n_layers, lv + (v - 1) * c)
    mid = np.where(pp > 2, v * c, 0)
    return first, mid, last


def _gemm_time(gemms: tuple[Gemm, ...], tokens, tp, ep, fab: Fabric, cal: Calibration, gemm_factor: float = 1.0):
    """Forward seconds of a list of weight GEMMs for `tokens` tokens on one chip."""
    total = 0.0
    for g in gemms:
        k = g.k / tp if g.split == ROW else float(g.k)
        n = g.n / tp if g.split == COLUMN else float(g.n)
        if g.expert:  # each local expert sees the tokens of its ep ranks routed to it
            rows = tokens * g.active * ep / g.copies
            count = g.copies / ep
        else:
            rows, count = tokens, float(g.active)
        x = np.minimum(np.minimum(rows, k), n)
        eff = gemm_factor * cal.gemm_eff_max * x / (x + cal.gemm_half_dim_elems)
        total = total + count * 2.0 * rows * k * n / (fab.peak_flops * eff)
    return total


def evaluate(shape: ModelShape, fab: Fabric, P: PlanArrays, seqs: int, cal: Calibration,
             flash_attention: bool = True, stack: Stack | None = None) -> dict[str, np.ndarray]:
    """Step time (s), breakdown (s), memory (bytes) and derived figures for every plan in P.

    `stack` (a resolved framework profile) sets the kernels and overlaps; None is the
    profile-free model of the calibration runs (FlashAttention per `flash_attention` at
    `cal.flash_eff`, A100 GEMM efficiency, nothing overlapped but `cal.dp_overlap`)."""
    if stack is None:
        stack = Stack(flash=flash_attention, flash_eff=cal.flash_eff, dp_overlap=cal.dp_overlap)
    flash_attention = stack.flash
    gf = stack.gemm_factor
    f = float
    tp, pp, dp, cp, ep = (P.tp.astype(f), P.pp.astype(f), P.dp.astype(f), P.cp.astype(f), P.ep.astype(f))
    mb, v, rc, sp = P.mb.astype(f), P.v.astype(f), P.rc, P.sp.astype(bool)
    h, s, L, V = f(shape.d_model), f(shape.seq_len), shape.n_layers, f(shape.vocab_size)
    el = fab.elem_bytes
    hbm = fab.hbm_bytes_per_s * cal.hbm_eff
    wm = shape.n_moe_layers / L
    wd = 1.0 - wm
    sp_div = np.where(sp, tp, 1.0)

    M = mb * s / cp  # tokens per chip per micro-batch
    m = seqs / (dp * mb)  # micro-batches per step per pipeline

    # --- compute per layer (forward) ------------------------------------------------
    gemm_f = _gemm_time(shape.attn_gemms, M, tp, ep, fab, cal, gf)
    if wd:
        gemm_f = gemm_f + wd * _gemm_time(shape.dense_ffn_gemms, M, tp, ep, fab, cal, gf)
    if wm:
        gemm_f = gemm_f + wm * _gemm_time(shape.moe_gemms, M, tp, ep, fab, cal, gf)

    scores = shape.n_heads / tp * M * s  # score elements per chip per micro-batch
    core_flops = 2.0 * scores * (shape.d_qk + shape.d_v)
    if flash_attention:
        if stack.head_dim_pow2:  # the Triton kernel computes with padded heads (flopgrid.perf.stack)
            core_flops = core_flops * (padded_head_dim(shape.d_qk) + padded_head_dim(shape.d_v)) / (shape.d_qk + shape.d_v)
        core_f = 0.5 * core_flops / (fab.peak_flops * stack.flash_eff)  # causal blocks skipped
        core_b = cal.flash_bwd_over_fwd * core_f
    else:
        batched = np.maximum(core_flops / (fab.peak_flops * cal.gemm_eff_max * gf), 2 * el * scores / hbm)
        core_f = batched + scores * (4 * el + 1) / hbm  # fused softmax r/w + dropout r/w + mask
        core_b = 2 * batched + scores * (5 * el + 1) / hbm

    norm_bytes = 10.0 * h * el + 2.0 * h  # 2 norms r/w + 2 bias-dropout-add (3 r/w + 1-byte mask)
    elem_tok = norm_bytes / sp_div
    if wd:
        elem_tok = elem_tok + wd * (shape.ffn_act_width + shape.ffn_width) * el / tp
    if wm:
        elem_tok = elem_tok + wm * ((shape.moe_act_width + shape.moe_width) * el / tp
                                    + 4.0 * shape.moe_top_k * h * el / tp)
    elem_f = stack.elementwise_factor * M * elem_tok / hbm

    # --- communication per layer -----------------------------------------------------
    ones = np.ones_like(tp)
    t_ar = all_reduce_s(M * h * el, tp, ones, fab, cal.link_eff)
    tp_exposed = 1.0 - stack.tp_overlap  # the rest hides behind the GEMMs (Megatron-Core --tp-comm-overlap)
    tp_f = 2.0 * t_ar * tp_exposed
    tp_b = 2.0 * t_ar * tp_exposed
    tp_hidden_layer = 4.0 * t_ar * stack.tp_overlap
    kv_bytes = M * 2.0 * shape.kv_width / np.minimum(tp, shape.n_kv_heads) * el  # local K and V per chip
    if stack.cp_allgather:  # all-gather K/V, then attention; reduce-scatter dK/dV: both exposed (Llama 3)
        cp_f = all_gather_s(cp * kv_bytes, cp, tp, fab, cal.link_eff)
        cp_b = cp_f
    else:  # ring: each step's K/V block travels while the current block's attention runs
        cp_cross = members_per_domain(P.cp, P.tp, fab.domain) < P.cp
        cp_t = np.where(cp > 1, (cp - 1) * p2p_s(kv_bytes, cp_cross, fab, cal.link_eff), 0.0)
        cp_f = np.maximum(cp_t - core_f, 0.0)
        cp_b = np.maximum(2.0 * cp_t - core_b, 0.0)
    if wm:
        a2a = all_to_all_s(M / tp * shape.moe_top_k * h * el, ep, tp * cp, fab, cal.link_eff)
        ep_l = wm * 4.0 * a2a
        ep_f = wm * 2.0 * a2a
    else:
        ep_l = ep_f = 0.0 * tp

    # FSDP with fp32 parameters: autocast casts each weight to bf16 at its forward use
    # (read 4 + write 2 bytes per parameter; flopgrid.perf.stack)
    if stack.fsdp_param_bytes > el:
        layer_params = (shape.attn_params + wd * shape.dense_ffn_params + wm * shape.moe_shared_params) / tp \
            + wm * shape.moe_expert_params / (tp * ep)
        cast_f = np.where(P.zero == 3, layer_params * (stack.fsdp_param_bytes + el) / hbm, 0.0)
    else:
        cast_f = 0.0 * tp
    recompute = np.where(rc == 2, gemm_f + core_f + elem_f + cast_f + tp_f + cp_f + ep_f,
                         np.where(rc == 1, core_f + stack.selective_gemm_recompute * gemm_f, 0.0))
    layer = {
        "gemm": 3.0 * gemm_f,
        "attention": core_f + core_b,
        "elementwise": 3.0 * elem_f + cast_f,
        "recompute": recompute,
        "tp_comm": tp_f + tp_b,
        "cp_comm": cp_f + cp_b,
        "ep_comm": ep_l,
    }
    t_layer = sum(layer.values())
    layer_bwd = 2.0 * gemm_f + core_b + 2.0 * elem_f + tp_b + cp_b + ep_l / 2.0 + recompute

    # --- output head (last stage) -----------------------------------------------------
    vt = V / tp
    x = np.minimum(np.minimum(M, h), vt)
    head_f = 2.0 * M * h * vt / (fab.peak_flops * gf * cal.gemm_eff_max * x / (x + cal.gemm_half_dim_elems))
    head = 3.0 * head_f + M * vt * 16.0 / hbm  # fp32 logits, softmax cross-entropy fwd + bwd

    # --- pipeline stages --------------------------------------------------------------
    first, mid, last = stage_layer_arrays(L, P.pp, P.v)
    t_first = first * t_layer + np.where(P.pp == 1, head, 0.0)
    t_last = last * t_layer + head
    t_mid = mid * t_layer
    slow_layers = np.where(t_last >= np.maximum(t_first, t_mid), last, np.where(t_first >= t_mid, first, mid)).astype(f)
    slow_head = np.where((t_last >= np.maximum(t_first, t_mid)) | (P.pp == 1), 1.0, 0.0)
    t_stage = slow_layers * t_layer + slow_head * head

    pp_cross = members_per_domain(P.pp, P.tp * P.cp * P.dp, fab.domain) < 2
    p2p = np.where(pp > 1, 2.0 * v * p2p_s(M * h * el / tp, pp_cross, fab, cal.link_eff), 0.0)
    t_mb = t_stage + p2p
    bubble = (pp - 1.0) / v * t_mb

    # --- parameters per chip and data-parallel traffic ----------------------------------
    lp_dense, lp_expert = _layer_params(shape, tp, ep)
    emb = V * h / tp
    n_emb_first = np.where((P.pp == 1) & (not shape.tied_embeddings), 2.0, 1.0)
    n_max = np.maximum(np.maximum(first, last), mid).astype(f)
    D_big = n_max * lp_dense + n_emb_first * emb
    E_big = n_max * lp_expert
    shard_d = dp * cp
    shard_e = dp * cp / ep
    t_dp_full = all_reduce_s(D_big * el, shard_d, tp, fab, cal.link_eff)
    if wm:  # expert weights reduce over their own (smaller) group
        t_dp_full = t_dp_full + all_reduce_s(E_big * el, shard_e, tp * cp * ep, fab, cal.link_eff)
    zero = P.zero
    bwd_last = slow_layers * layer_bwd
    dp_hidden = np.where(zero < 3, np.minimum(t_dp_full, stack.dp_overlap * bwd_last), 0.0)
    dp_exposed = np.where(zero < 3, t_dp_full - dp_hidden, 0.0)
    # FSDP (ZeRO-3), per layer and micro-batch (PyTorch FSDP, Zhao et al. VLDB'23 §3-4): the
    # forward all-gathers each layer's parameters, the backward gathers them again and
    # reduce-scatters the gradients; with prefetch the next layer's gather runs while the
    # current layer computes, so only the excess over the layer's compute is exposed, plus
    # the first gather and the last reduce-scatter, which nothing hides.
    ag_l = all_gather_s(lp_dense * el, shard_d, tp, fab, cal.link_eff)
    if wm:
        ag_l = ag_l + all_gather_s(lp_expert * el, shard_e, tp * cp * ep, fab, cal.link_eff)
    rs_l = ag_l * stack.fsdp_reduce_bytes / el
    ag_l = ag_l * stack.fsdp_param_bytes / el  # fp32 parameters gather twice the bytes (flopgrid.perf.stack)
    fwd_l = gemm_f + core_f + elem_f + cast_f + tp_f + cp_f + ep_f
    if stack.fsdp_prefetch:
        exp_l = np.maximum(ag_l - fwd_l, 0.0) + np.maximum(ag_l + rs_l - layer_bwd, 0.0)
    else:
        exp_l = 2.0 * ag_l + np.maximum(rs_l - layer_bwd, 0.0)
    fsdp_mb = slow_layers * exp_l + ag_l + rs_l
    fsdp = np.where(zero == 3, m * fsdp_mb, 0.0)
    fsdp_hidden = np.where(zero == 3, m * np.maximum(slow_layers * (2.0 * ag_l + rs_l) - slow_layers * exp_l, 0.0), 0.0)
    opt_shard = np.where(zero >= 1, 1.0, 0.0)
    opt_params = D_big / np.where(opt_shard > 0, shard_d, 1.0) + E_big / np.where(opt_shard > 0, shard_e, 1.0)
    optimizer = opt_params * ADAM_UPDATE_BYTES_PER_PARAM / hbm
    # compute slowed by the communication kernels running beside it
    hidden = dp_hidden + fsdp_hidden + m * slow_layers * tp_hidden_layer
    slowdown = (cal.overlap_slowdown if stack.comm_uses_compute else 0.0) * hidden

    step = m * t_mb + bubble + dp_exposed + fsdp + optimizer + slowdown
    # stragglers: the synchronous step waits for the slowest host (Calibration.straggler_cv);
    # the chips of one scale-up domain share a host and its clocks, so N counts domains
    hosts = np.maximum(tp * pp * dp * cp / fab.domain, 1.0)
    stragglers = step * cal.straggler_cv * np.sqrt(2.0 * np.log(hosts))
    step = step + stragglers
    share = m * slow_layers
    breakdown = {k: share * val for k, val in layer.items()}
    breakdown["head"] = m * slow_head * head
    breakdown["pp_comm"] = m * p2p
    breakdown["pipeline_bubble"] = bubble
    breakdown["dp_comm"] = dp_exposed
    breakdown["fsdp_comm"] = fsdp
    breakdown["optimizer"] = optimizer
    breakdown["overlap_slowdown"] = slowdown
    breakdown["stragglers"] = stragglers

    # --- memory per chip ---------------------------------------------------------------
    memory, total = plan_memory(shape, fab, P, seqs, cal, stack, stages=(first, mid, last))

    tokens_per_s = seqs * s / step
    chips = tp * pp * dp * cp
    return {
        "step_time_s": step,
        "tokens_per_second": tokens_per_s,
        "mfu": tokens_per_s * shape.model_flops_per_token / (chips * fab.peak_flops),
        "hfu": tokens_per_s * np.asarray(shape.hardware_flops_per_token)[rc] / (chips * fab.peak_flops),
        "memory_bytes": total,
        "fits": total <= fab.hbm_bytes,
        "micro_batches": m,
        **{f"t_{k}": breakdown[k] for k in BREAKDOWN_KEYS},
        **{f"mem_{k}": memory[k] for k in MEMORY_KEYS},
    }


def _layer_params(shape: ModelShape, tp, ep) -> tuple[np.ndarray, np.ndarray]:
    """Parameters per chip of one (average) layer: dense (attention, dense FFN or shared
    experts and router, split by tp) and routed experts (split by tp and ep)."""
    wm = shape.n_moe_layers / shape.n_layers
    lp_dense = (shape.attn_params + (1.0 - wm) * shape.dense_ffn_params + wm * shape.moe_shared_params) / tp
    return lp_dense, wm * shape.moe_expert_params / (tp * ep)


def plan_memory(shape: ModelShape, fab: Fabric, P: PlanArrays, seqs: int, cal: Calibration, stack: Stack,
                stages: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Memory per chip of every plan in P: (breakdown in bytes with `total` of the tensors,
    total bytes with the allowance). The larger of the first and the last pipeline stage.
    Cheaper than `evaluate` (no step time), so the planner can drop plans that do not fit
    before timing them; `evaluate` reports the same figures. `stages`: the
    (first, mid, last) layer counts when already computed."""
    f = float
    tp, pp, dp, cp, ep = (P.tp.astype(f), P.pp.astype(f), P.dp.astype(f), P.cp.astype(f), P.ep.astype(f))
    mb, v = P.mb.astype(f), P.v.astype(f)
    el = fab.elem_bytes
    wm = shape.n_moe_layers / shape.n_layers
    sp_div = np.where(P.sp.astype(bool), tp, 1.0)
    M = mb * shape.seq_len / cp
    m = seqs / (dp * mb)
    first, _, last = stages if stages is not None else stage_layer_arrays(shape.n_layers, P.pp, P.v)
    lp_dense, lp_expert = _layer_params(shape, tp, ep)
    emb = f(shape.vocab_size) * shape.d_model / tp
    n_emb_first = np.where((P.pp == 1) & (not shape.tied_embeddings), 2.0, 1.0)
    shard_d, shard_e = dp * cp, dp * cp / ep
    # a gathered FSDP layer is held at the gathered precision (fp32 with fsdp_param_bytes 4;
    # autocast's bf16 copies are per-op transients, not counted)
    gather_bytes = max(2.0, stack.fsdp_param_bytes)
    common = (shard_d, shard_e, 1.0 - wm, wm, stack.flash)
    mem_first = _memory(shape, P, tp, pp, v, m, M, sp_div, el, first, lp_dense, lp_expert, n_emb_first * emb,
                        *common, is_last=(P.pp == 1), gather_bytes=gather_bytes)
    mem_last = _memory(shape, P, tp, pp, v, m, M, sp_div, el, last, lp_dense, lp_expert, emb,
                       *common, is_last=True, gather_bytes=gather_bytes)
    use_first = mem_first["total"] >= mem_last["total"]
    memory = {k: np.where(use_first, mem_first[k], mem_last[k]) for k in (*MEMORY_KEYS, "total")}
    memory["allowance"] = cal.workspace_bytes + cal.fragmentation * memory["total"]
    return memory, memory["total"] + memory["allowance"]


def _memory(shape: ModelShape, P: PlanArrays, tp, pp, v, m, M, sp_div, el, layers, lp_dense, lp_expert, emb,
            shard_d, shard_e, wd, wm, flash_attention: bool, is_last, gather_bytes: float = 2.0) -> dict[str, np.ndarray]:
    """Bytes per chip on one stage holding `layers` layers (+ `emb` embedding params);
    `gather_bytes` per parameter of the (current + prefetched) layers ZeRO-3 holds gathered."""
    h, s = float(shape.d_model), float(shape.seq_len)
    D = layers * lp_dense + emb
    E = layers * lp_expert
    zero = P.zero
    sharded = D / shard_d + E / shard_e
    # ZeRO-3 holds its shard plus the gathered current + prefetched layer (never more than
    # the unsharded weights)
    gathered = np.minimum(2.0 * gather_bytes * (lp_dense + lp_expert), gather_bytes * (D + E) - 2.0 * sharded)
    weights = np.where(zero == 3, 2.0 * sharded + gathered, 2.0 * (D + E))
    grads = np.where(zero >= 2, 2.0 * sharded, 2.0 * (D + E))
    optim = np.where(zero >= 1, 12.0 * sharded, 12.0 * (D + E))

    # Korthikanti et al. 2022 eq. 1-2, per token per layer (bytes), generalised
    rep = (4.0 * h * el + 2.0 * h) / sp_div  # norm inputs, QKV/MLP inputs, 2 dropout masks
    attn = shape.attn_act_width * el / tp
    softmax = 0.0 if flash_attention else shape.n_heads * s * (2 * el + 1) / tp
    ffn = wd * (shape.ffn_act_width + shape.ffn_width) * el / tp
    if wm:
        ffn = ffn + wm * ((shape.moe_act_width + shape.moe_width) * el + shape.moe_top_k * h * el) / tp
    rc = P.rc
    full_layer = rep + attn + softmax + ffn
    per_layer = np.where(rc == 2, h * el / sp_div, np.where(rc == 1, rep + attn + ffn, full_layer))
    in_flight = np.where(P.pp > 1, np.minimum(pp, m) * np.where(P.v > 1, 1.0 + (pp - 1.0) / (pp * v), 1.0), 1.0)
    in_flight = np.where(is_last & (P.pp > 1), 1.0, in_flight)
    # full recompute: during the backward one layer is re-materialised in place of its stored input
    acts = M * (layers * per_layer * in_flight + np.where(rc == 2, full_layer - h * el / sp_div, 0.0))
    acts = acts + np.where(is_last, 4.0 * M * shape.vocab_size / tp, 0.0)  # fp32 logits (Korthikanti §4.3)
    total = weights + grads + optim + acts
    return {"weights": weights, "gradients": grads, "optimizer": optim, "activations": acts,
            "allowance": 0.0 * total, "total": total}
