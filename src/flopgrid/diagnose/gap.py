"""The gap from the ceiling to the measured MFU, split into parts that add up exactly.

Times are per-chip seconds over the run (the meter report's convention). With X = useful
FLOPs / (chips x peak) (the seconds the work would take at 100% MFU) and W the wall time:

    measured_mfu = X / W,   productive_mfu = X / productive_s
    T_ceiling = X / ceiling_mfu      (the work at the best plan's predicted MFU)
    T_plan    = X / predicted_mfu    (the work at the declared plan's predicted MFU)

W - T_ceiling splits into named seconds:

    plan_choice      = T_plan - T_ceiling
    step_time_excess = productive_s - stragglers - T_plan   (measured productive step time vs predicted)
    stragglers       = the slowest rank vs the median (flopgrid.meter.ranks), inside productive time
    <badput category> = the meter's badput seconds (data_loading, checkpoint_save, ...)

and each part's MFU points are its share of the wall time valued at the ceiling:
part = ceiling_mfu x seconds / W. They sum to ceiling_mfu x (W - T_ceiling) / W =
ceiling_mfu - measured_mfu exactly. Chip-hours per day = seconds / W x chips x 24: the
chips' time a day that the part takes. A part can be negative (a run faster than the
model predicts has a negative step-time excess); the sum still holds.

The recommendation gain of removing one part alone (nothing else changed) is
X / (W - seconds) - X / W (`standalone_gain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flopgrid.meter.badput import BADPUT_CATEGORIES

HOURS_PER_DAY = 24.0
MODEL_PARTS: tuple[str, ...] = ("plan_choice", "step_time_excess", "stragglers")
GAP_PARTS: tuple[str, ...] = (*MODEL_PARTS, *BADPUT_CATEGORIES)


@dataclass(frozen=True)
class Gap:
    """The split (MFU fractions, seconds, chip-hours per day), keyed by GAP_PARTS."""

    measured_mfu: float
    productive_mfu: float
    predicted_mfu: float
    ceiling_mfu: float
    peak_seconds: float  # X
    wall_s: float
    seconds: dict[str, float] = field(default_factory=dict)
    mfu: dict[str, float] = field(default_factory=dict)
    chip_hours_per_day: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.ceiling_mfu - self.measured_mfu


def split_gap(useful_flops: float, chips: int, peak_flops_per_chip: float, wall_s: float, productive_s: float,
              badput_s: dict[str, float], straggler_s: float, predicted_mfu: float, ceiling_mfu: float) -> Gap:
    """The gap split of one run (see the module docstring)."""
    x = useful_flops / (chips * peak_flops_per_chip)
    stragglers = min(max(straggler_s, 0.0), productive_s)
    t_plan = x / predicted_mfu
    t_ceiling = x / ceiling_mfu
    seconds = {"plan_choice": t_plan - t_ceiling, "step_time_excess": productive_s - stragglers - t_plan,
               "stragglers": stragglers, **{c: float(badput_s.get(c, 0.0)) for c in BADPUT_CATEGORIES}}
    mfu = {k: ceiling_mfu * s / wall_s for k, s in seconds.items()}
    chip_hours = {k: s / wall_s * chips * HOURS_PER_DAY for k, s in seconds.items()}
    return Gap(measured_mfu=x / wall_s, productive_mfu=x / productive_s if productive_s > 0 else 0.0,
               predicted_mfu=predicted_mfu, ceiling_mfu=ceiling_mfu, peak_seconds=x, wall_s=wall_s,
               seconds=seconds, mfu=mfu, chip_hours_per_day=chip_hours)


def standalone_gain(gap: Gap, seconds: float) -> float:
    """MFU gained if `seconds` of the wall time went away and nothing else changed."""
    if seconds <= 0 or seconds >= gap.wall_s:
        return 0.0 if seconds <= 0 else float("inf")
    return gap.peak_seconds / (gap.wall_s - seconds) - gap.measured_mfu


COMPONENT_GROUPS: dict[str, tuple[str, ...]] = {
    "compute_s": ("gemm", "attention", "elementwise", "head", "optimizer"),
    "exposed_comm_s": ("tp_comm", "cp_comm", "ep_comm", "pp_comm", "dp_comm", "fsdp_comm"),
    "bubble_s": ("pipeline_bubble",),
    "recompute_s": ("recompute",),
}


def components(breakdown: dict[str, float]) -> dict[str, float]:
    """A predicted step's seconds grouped as compute, exposed communication, pipeline bubble
    and recompute (flopgrid.perf breakdown keys; anything else counts as compute)."""
    out = {g: sum(breakdown.get(k, 0.0) for k in keys) for g, keys in COMPONENT_GROUPS.items()}
    known = {k for keys in COMPONENT_GROUPS.values() for k in keys}
    out["compute_s"] += sum(v for k, v in breakdown.items() if k not in known)
    return out
