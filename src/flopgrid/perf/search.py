"""The planner: enumerate every valid plan, evaluate them all at once, keep the best.

Valid plans (the same rules as `check_plan`): tp divides the heads and stays inside the
scale-up domain (Megatron-LM places tp on NVLink); cp divides the sequence; pp <= layers,
with uneven first/last (virtual) stages allowed for 1F1B and interleaved schedules
(`flopgrid.perf.plan.stage_layers`); interleave only when the micro-batch count divides by pp; dp*micro_batch divides
the global batch; ep divides the experts and dp*cp; sequence parallelism only with tp > 1.
Any field in `pins` is fixed. Plans that do not fit in HBM are pruned after the
vectorised evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.catalog.cluster import Cluster
from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.errors import NoSolutionError, UserInputError
from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.engine import PlanArrays, evaluate, plan_memory
from flopgrid.perf.fabric import Fabric
from flopgrid.perf.plan import RECOMPUTE_CHOICES, RECOMPUTE_CODE, ZERO_STAGES, global_batch_seqs, stage_layers
from flopgrid.perf.predict import GIB, Prediction, apply_ceiling, prediction_from
from flopgrid.perf.shape import model_shape
from flopgrid.perf.stack import Stack, framework_violation, resolve_framework

PLAN_FIELDS: tuple[str, ...] = ("tp", "pp", "dp", "cp", "ep", "micro_batch", "interleave", "recompute", "zero",
                                "sequence_parallel")
MICRO_BATCHES: tuple[int, ...] = (1, 2, 4, 8, 16)
MAX_CP = 32
MAX_INTERLEAVE = 16


@dataclass(frozen=True)
class PlanSearch:
    """The planner's answer: the best plan, the top candidates, how many plans were
    evaluated, and the wall seconds it took."""

    best: Prediction
    candidates: list[Prediction] = field(default_factory=list)
    searched: int = 0
    fitting: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "best": self.best.as_dict(),
            "candidates": [c.as_dict() for c in self.candidates],
            "searched": self.searched,
            "fitting": self.fitting,
            "seconds": self.seconds,
        }


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _check_pins(pins: dict) -> dict:
    unknown = set(pins) - set(PLAN_FIELDS)
    if unknown:
        raise UserInputError(f"unknown plan field(s) {sorted(unknown)}; allowed: {', '.join(PLAN_FIELDS)}")
    out = {k: v for k, v in pins.items() if v is not None}
    if "recompute" in out and out["recompute"] not in RECOMPUTE_CHOICES:
        raise UserInputError(f"recompute {out['recompute']!r} is not one of: {', '.join(RECOMPUTE_CHOICES)}")
    if "zero" in out and out["zero"] not in ZERO_STAGES:
        raise UserInputError(f"zero must be one of 0, 1, 2, 3, got {out['zero']!r}")
    for k in ("tp", "pp", "dp", "cp", "ep", "micro_batch", "interleave"):
        if k in out and (not isinstance(out[k], int) or out[k] < 1):
            raise UserInputError(f"{k} must be an integer >= 1, got {out[k]!r}")
    return out


def _framework_pins(profile, pins: dict) -> dict:
    """Check pinned fields against what `profile` can run; raise UserInputError naming the
    first one it cannot."""
    from flopgrid.perf.plan import Plan

    probe = Plan(tp=pins.get("tp", 1), pp=pins.get("pp", 1), dp=1, cp=pins.get("cp", 1), ep=pins.get("ep", 1),
                 interleave=pins.get("interleave", 1), recompute=pins.get("recompute", profile.recompute[0]),
                 zero=pins.get("zero", profile.zero_stages[0]),
                 sequence_parallel=bool(pins.get("sequence_parallel", False)))
    why = framework_violation(profile, probe)
    if why:
        raise UserInputError(why)
    return pins


def enumerate_plans(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int,
                    pins: dict | None = None, skip_dominated: bool = False, framework=None) -> tuple[PlanArrays, str]:
    """Every valid plan (as arrays) the framework can run and, when there is none, the reason.

    `skip_dominated` drops plans the model can never rank first: sequence parallelism off
    when tp > 1 (same traffic, more memory and element-wise time) and ZeRO stages 0 and 1
    (stage 2 has the same traffic, less memory and a sharded optimizer update).
    `framework` (profile, name or file; None: the default) limits tp, pp, interleave, cp,
    ep, sequence parallelism, ZeRO stages and recompute modes to what the stack offers."""
    profile = resolve_framework(framework)
    pins = _framework_pins(profile, _check_pins(pins or {}))
    seqs = global_batch_seqs(model, global_batch_tokens)
    L, heads, T = model.n_layers, model.n_heads, model.seq_len
    divs = _divisors(chips)

    def allowed(name: str, values):
        return [pins[name]] if name in pins else list(values)

    max_tp = 1 if not profile.tensor_parallel else (profile.max_tp or cluster.scale_up_domain)
    tps = allowed("tp", [d for d in divs if d <= min(cluster.scale_up_domain, max_tp) and heads % d == 0])
    tps = [t for t in tps if chips % t == 0 and heads % t == 0]
    if not tps:
        return _empty(), f"no tp divides both chips ({chips}) and n_heads ({heads})" + (
            "" if "tp" in pins else f" within the scale-up domain ({cluster.scale_up_domain})")
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    splits = _valid_interleaves(L, divs)
    reason = f"no dp*micro_batch divides the global batch of {seqs} sequences"
    mbs = allowed("micro_batch", MICRO_BATCHES)
    for tp in tps:
        max_cp = MAX_CP if profile.context_parallel else 1
        for cp in allowed("cp", [d for d in _divisors(chips // tp) if d <= max_cp]):
            if (chips // tp) % cp or T % cp:
                continue
            rest = chips // (tp * cp)
            for pp in allowed("pp", [d for d in _divisors(rest) if d <= (L if profile.pipeline else 1)]):
                if rest % pp or pp > L:
                    continue
                dp = rest // pp
                if "dp" in pins and pins["dp"] != dp:
                    continue
                if seqs % dp:
                    continue
                if model.moe is None or not profile.expert_parallel:
                    eps = [1]
                else:
                    eps = [e for e in _divisors(dp * cp) if model.moe.n_experts % e == 0]
                eps = [e for e in allowed("ep", eps) if e in eps]
                vs_pp = [1] if pp == 1 or not profile.interleaved else sorted(splits[pp])
                vs_pp = [v for v in allowed("interleave", vs_pp) if v in vs_pp]
                vs_one = [v for v in vs_pp if v == 1]
                for mb in mbs:
                    if seqs % (dp * mb):
                        continue
                    vs = vs_pp if (seqs // (dp * mb)) % pp == 0 else vs_one
                    rows.extend([(tp, pp, dp, cp, ep, mb, v) for v in vs for ep in eps])
    if not rows:
        return _empty(), reason if "tp" not in pins else reason + f" with the pinned plan fields {pins}"
    base = np.array(rows, dtype=np.int64)
    rcs = [RECOMPUTE_CODE[pins["recompute"]]] if "recompute" in pins else [RECOMPUTE_CODE[r] for r in profile.recompute]
    offered = [z for z in ZERO_STAGES if z in profile.zero_stages]
    if skip_dominated and len(offered) > 1:  # stage 2 dominates 0 and 1; with no 2 keep the best of 0/1 (1)
        best_low = [z for z in offered if z < 2][-1:] if 2 not in offered else []
        offered = sorted(set(best_low + [z for z in offered if z >= 2]))
    zeros = [pins["zero"]] if "zero" in pins else offered
    sps = ([int(bool(pins["sequence_parallel"]))] if "sequence_parallel" in pins
           else [0, 1] if profile.sequence_parallel else [0])
    extra = np.array([(r, z, s) for r in rcs for z in zeros for s in sps], dtype=np.int64)
    grid_base = np.repeat(base, len(extra), axis=0)
    grid_extra = np.tile(extra, (len(base), 1))
    keep = ~((grid_extra[:, 2] == 1) & (grid_base[:, 0] == 1)) | ("sequence_parallel" in pins)
    if skip_dominated and "sequence_parallel" not in pins and profile.sequence_parallel:
        keep &= ~((grid_extra[:, 2] == 0) & (grid_base[:, 0] > 1))
    grid_base, grid_extra = grid_base[keep], grid_extra[keep]
    arrays = PlanArrays(tp=grid_base[:, 0], pp=grid_base[:, 1], dp=grid_base[:, 2], cp=grid_base[:, 3],
                        ep=grid_base[:, 4], mb=grid_base[:, 5], v=grid_base[:, 6], rc=grid_extra[:, 0],
                        zero=grid_extra[:, 1], sp=grid_extra[:, 2])
    return arrays, ""


def _valid_interleaves(n_layers: int, pps: list[int]) -> dict[int, set[int]]:
    """For each pp, the interleave factors whose (possibly uneven) stage split exists."""
    return {pp: {v for v in range(1, MAX_INTERLEAVE + 1) if stage_layers(n_layers, pp, v) is not None}
            for pp in pps if pp <= n_layers}


def _empty() -> PlanArrays:
    z = np.zeros(0, dtype=np.int64)
    return PlanArrays(z, z, z, z, z, z, z, z, z, z)


def search_plans(model: ModelSpec, cluster: Cluster, chips: int, global_batch_tokens: int, pins: dict | None = None,
                 top_k: int = 5, dtype: str = "bf16", flash_attention: bool = True,
                 calibration: Calibration = CALIBRATION, skip_dominated: bool = False, framework=None,
                 ceiling: bool = True) -> PlanSearch:
    """Search every valid plan the framework can run; the `top_k` fastest that fit, best first.

    `framework`: a FrameworkProfile, shipped name or file (None: `megatron-core`);
    `ceiling`: cap each candidate at the best published MFU for the chip and scale
    (flopgrid.perf.predict.apply_ceiling; the order is unchanged). Raises
    NoSolutionError (with the reason) when no valid plan exists or none fits."""
    from flopgrid.perf.band import mfu_band

    started = time.perf_counter()
    if chips < 1:
        raise UserInputError(f"chips must be >= 1, got {chips}")
    if top_k < 1:
        raise UserInputError(f"top_k must be >= 1, got {top_k}")
    fab = Fabric.of(cluster, dtype)
    profile = resolve_framework(framework)
    modes = sorted({RECOMPUTE_CODE[r] for r in ([pins["recompute"]] if pins and pins.get("recompute")
                                                 else profile.recompute) if r in RECOMPUTE_CODE})
    if skip_dominated and len(modes) > 1:  # the lightest mode only; heavier ones where it does not fit
        light = {**(pins or {}), "recompute": RECOMPUTE_CHOICES[modes[0]]}
        plans, reason = enumerate_plans(model, cluster, chips, global_batch_tokens, light, skip_dominated, profile)
    else:
        plans, reason = enumerate_plans(model, cluster, chips, global_batch_tokens, pins, skip_dominated, profile)
    if len(plans) == 0:
        raise NoSolutionError(
            f"no valid plan for {model.name} on {chips} chips with framework {profile.name}: {reason}")
    stack = Stack.of(profile, cluster.accelerator, calibration, flash_attention)
    shape, seqs = model_shape(model), global_batch_seqs(model, global_batch_tokens)
    searched = len(plans) * (len(modes) if skip_dominated else 1)
    if skip_dominated:
        plans, n_fitting, smallest_bytes = _fitting_undominated(shape, fab, plans, seqs, calibration, stack, modes)
    result = evaluate(shape, fab, plans, seqs, calibration, flash_attention, stack=stack)
    fits = np.flatnonzero(result["fits"])
    if not skip_dominated:
        n_fitting, smallest_bytes = len(fits), float(result["memory_bytes"].min())
    if len(fits) == 0:
        smallest = smallest_bytes / GIB
        raise NoSolutionError(
            f"none of the {searched} valid plans for {model.name} on {chips} x {cluster.hardware} fits in memory: "
            f"the smallest needs {smallest:.1f} GiB per chip, the chip has {fab.hbm_bytes / GIB:.1f} GiB"
        )
    order = fits[np.argsort(result["step_time_s"][fits], kind="stable")][:top_k]
    candidates = []
    for i in order:
        plan = plans.plan(int(i))
        pred = prediction_from(result, int(i), plan, fab.hbm_bytes, profile.name,
                               mfu_band(cluster.accelerator.name, chips, plan.zero))
        candidates.append(apply_ceiling(pred, cluster.accelerator.name, chips) if ceiling else pred)
    return PlanSearch(best=candidates[0], candidates=candidates, searched=searched, fitting=n_fitting,
                      seconds=time.perf_counter() - started)


def _fitting_undominated(shape, fab: Fabric, plans: PlanArrays, seqs: int, cal: Calibration,
                         stack: Stack, modes: list[int]) -> tuple[PlanArrays, int, float]:
    """The plans that fit in memory, with only the lightest recompute that fits of each
    otherwise equal plan; (those plans, how many, smallest memory in bytes).

    Memory comes first (flopgrid.perf.engine.plan_memory, cheaper than timing a plan), one
    recompute mode at a time, lightest first; a heavier mode is tried only for the plans the
    lighter one did not fit. Among plans equal but for `recompute`, a lighter mode is never
    slower: it drops recomputed forward seconds (none <= selective <= full) and what it gives
    back in hidden communication is at most those seconds (FSDP exposure and the
    data-parallel overlap shrink by at most the added backward; the overlap slowdown charges
    only part of it), so only memory can make a heavier mode win, and then the lightest that
    fits ranks first. `plans` hold the lightest of `modes` (recompute codes, ascending); the
    heavier rows are those plans with `rc` replaced (every mode exists for every other choice)."""
    from dataclasses import replace

    todo = plans
    kept: list[PlanArrays] = []
    smallest = np.inf
    for k, mode in enumerate(modes):
        if k:
            todo = replace(todo, rc=np.full(len(todo), mode, dtype=np.int64))
        if len(todo) == 0:
            break
        _, total = plan_memory(shape, fab, todo, seqs, cal, stack)
        smallest = min(smallest, float(total.min()))
        ok = total <= fab.hbm_bytes
        kept.append(todo.take(np.flatnonzero(ok)))
        todo = todo.take(np.flatnonzero(~ok))
    out = PlanArrays.concat(kept) if kept else plans.take(np.zeros(0, dtype=np.int64))
    return out, len(out), float(smallest) if np.isfinite(smallest) else 0.0
