"""Recommendations derived from the gap split, each with its expected MFU gain.

Every recommendation's `expected_mfu_gain` is `flopgrid.diagnose.gap.standalone_gain` of
the seconds it would remove (the measured MFU if that loss alone went away, minus the
measured MFU); the checkpoint one removes only the excess over the Young/Daly optimum
(flopgrid.reliability). Listed best first; a part below `MIN_SHARE` of the wall time
gives no recommendation, nor a plan the model predicts less than `MIN_PLAN_SPEEDUP`
faster than the declared one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from flopgrid.diagnose.gap import Gap, standalone_gain
from flopgrid.perf import Plan
from flopgrid.reliability import LLAMA3_MTTF_CHIP_HOURS, job_mtbf_s, young_daly_interval_s

MIN_SHARE = 0.01  # a loss below 1% of the wall time is noise for a recommendation
MIN_PLAN_SPEEDUP = 0.01  # switch plans when the model predicts steps at least 1% faster
DATA_WAIT_THRESHOLD = 0.05  # data wait above 5% of the wall time: the input pipeline does not keep up
CHECKPOINT_MARGIN = 1.10  # checkpoint + re-done work more than 10% above the Young/Daly optimum


@dataclass(frozen=True)
class Recommendation:
    action: str
    expected_mfu_gain: float
    why: str
    kind: str  # plan | data_pipeline | checkpointing | straggler | step_time | startup | restore | disruption | other
    seconds: float = 0.0  # the wall seconds it removes (the gain's input)
    plan: dict[str, Any] | None = None
    details: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _checkpointing(gap: Gap, chips: int, checkpoints: int, mttf_chip_hours: float) -> Recommendation | None:
    ckpt = gap.seconds["checkpoint_save"]
    wasted = gap.seconds["wasted_progress"]
    if checkpoints == 0 or ckpt <= 0:
        return None
    cost_s = ckpt / checkpoints
    mtbf_s = job_mtbf_s(chips, mttf_chip_hours)
    interval_s = young_daly_interval_s(chips, mttf_chip_hours, cost_s)
    optimum = min(1.0, math.sqrt(2.0 * cost_s / mtbf_s))  # C/T + T/2M at T = sqrt(2CM)
    observed = (ckpt + wasted) / gap.wall_s
    if observed <= CHECKPOINT_MARGIN * optimum or observed < MIN_SHARE:
        return None
    removed = (observed - optimum) * gap.wall_s
    return Recommendation(
        action=f"checkpoint every {interval_s:,.0f} s of training (Young/Daly optimum)",
        expected_mfu_gain=standalone_gain(gap, removed), kind="checkpointing", seconds=removed,
        why=(f"checkpoints ({cost_s:.3g} s each, {checkpoints} taken) and re-done steps cost {_pct(observed)} of the "
             f"wall time; at the Young/Daly interval sqrt(2 C M) with the job's MTBF M = {mtbf_s / 3600:,.1f} h "
             f"({chips} chips, {mttf_chip_hours:,.0f} chip-hours MTTF) they would cost {_pct(optimum)}"),
        details={"checkpoint_s": cost_s, "interval_s": interval_s, "mtbf_s": mtbf_s, "observed_fraction": observed,
                 "optimal_fraction": optimum})


_BADPUT_ACTIONS: dict[str, tuple[str, str, str]] = {
    "initialization": ("startup", "cut startup time (model build, compile, dataset open) or amortise it over a "
                       "longer run", "the run spends {s:.3g} s ({share}) before its first step"),
    "checkpoint_restore": ("restore", "restore from faster (local or parallel) storage",
                           "restoring checkpoints took {s:.3g} s ({share})"),
    "disruption_recovery": ("disruption", "restart automatically (hot spares, elastic restart)",
                            "the job was down {s:.3g} s ({share}) between sessions"),
    "other": ("other", "move work out of the gaps between steps (logging, evaluation, host syncs) or do it less often",
              "{s:.3g} s ({share}) of the wall time is outside the metered steps"),
}


def recommend(gap: Gap, *, declared: Plan, best: Plan | None, chips: int, hardware: str, steps: int,
              slowest_rank: int | None, rank_step_s: dict[int, float], median_step_s: float, basis: str,
              checkpoints: int, predicted_step_s: float, top_component: str,
              mttf_chip_hours: float = LLAMA3_MTTF_CHIP_HOURS) -> list[Recommendation]:
    """Every recommendation the numbers support, best first."""
    recs: list[Recommendation] = []
    s = gap.seconds
    share = {k: v / gap.wall_s for k, v in s.items()}
    if best is not None and best != declared and gap.ceiling_mfu >= (1.0 + MIN_PLAN_SPEEDUP) * gap.predicted_mfu:
        recs.append(Recommendation(
            action=f"switch to plan {best.short()}", expected_mfu_gain=standalone_gain(gap, s["plan_choice"]),
            kind="plan", seconds=s["plan_choice"], plan=best.as_dict(),
            why=(f"the model predicts {_pct(gap.ceiling_mfu)} MFU for it vs {_pct(gap.predicted_mfu)} for the "
                 f"declared {declared.short()} on {chips} x {hardware}")))
    if share["data_loading"] > DATA_WAIT_THRESHOLD:
        recs.append(Recommendation(
            action="add data-loader workers or prefetch (DataLoader num_workers / prefetch_factor, "
                   "Trainer dataloader_num_workers)",
            expected_mfu_gain=standalone_gain(gap, s["data_loading"]), kind="data_pipeline", seconds=s["data_loading"],
            why=(f"{_pct(share['data_loading'])} of the wall time waits for batches ({s['data_loading']:.3g} s, "
                 f"{1e3 * s['data_loading'] / max(1, steps):.3g} ms per step, above the {_pct(DATA_WAIT_THRESHOLD)} "
                 "threshold): loading ahead hides it behind compute")))
    ckpt = _checkpointing(gap, chips, checkpoints, mttf_chip_hours)
    if ckpt is not None:
        recs.append(ckpt)
    if slowest_rank is not None and share["stragglers"] >= MIN_SHARE:
        slow = rank_step_s.get(slowest_rank, 0.0)
        recs.append(Recommendation(
            action=f"look at rank {slowest_rank}", expected_mfu_gain=standalone_gain(gap, s["stragglers"]),
            kind="straggler", seconds=s["stragglers"],
            why=(f"rank {slowest_rank} takes {1e3 * slow:.3g} ms per step vs the median rank's "
                 f"{1e3 * median_step_s:.3g} ms ({'arrival at the gradient sync' if basis == 'sync' else 'step time'}); "
                 f"every rank waits for it: {s['stragglers']:.3g} s ({_pct(share['stragglers'])}) of the run"),
            details={"rank": float(slowest_rank), "rank_step_s": slow, "median_step_s": median_step_s}))
    if share["step_time_excess"] >= MIN_SHARE:
        measured_step = (s["step_time_excess"] + gap.peak_seconds / gap.predicted_mfu) / max(1, steps)
        recs.append(Recommendation(
            action="profile the step (torch.profiler, Holistic Trace Analysis)",
            expected_mfu_gain=standalone_gain(gap, s["step_time_excess"]), kind="step_time",
            seconds=s["step_time_excess"],
            why=(f"a step takes {1e3 * measured_step:.3g} ms vs the model's {1e3 * predicted_step_s:.3g} ms for this "
                 f"plan (its largest predicted component: {top_component}); the excess is "
                 f"{_pct(share['step_time_excess'])} of the wall time")))
    for cat, (kind, action, why) in _BADPUT_ACTIONS.items():
        if share[cat] >= MIN_SHARE:
            recs.append(Recommendation(action=action, expected_mfu_gain=standalone_gain(gap, s[cat]), kind=kind,
                                       seconds=s[cat], why=why.format(s=s[cat], share=_pct(share[cat]))))
    if ckpt is None and share["wasted_progress"] >= MIN_SHARE:
        recs.append(Recommendation(action="checkpoint more often", kind="checkpointing", seconds=s["wasted_progress"],
                                   expected_mfu_gain=standalone_gain(gap, s["wasted_progress"]),
                                   why=f"{s['wasted_progress']:.3g} s of steps were re-done after restarts"))
    return sorted(recs, key=lambda r: -r.expected_mfu_gain)
