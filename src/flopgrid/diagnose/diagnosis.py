"""`diagnose`: measured vs predicted vs ceiling MFU of a metered run, the gap split and
what to change (pure: parsed logs in, a `Diagnosis` out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flopgrid.diagnose.facts import Overrides, RunFacts, run_facts
from flopgrid.diagnose.gap import GAP_PARTS, Gap, components, split_gap
from flopgrid.diagnose.perf_adapter import best_plan, predict_plan, run_cluster
from flopgrid.diagnose.recommend import Recommendation, recommend
from flopgrid.meter.events import LogContents
from flopgrid.perf.predict import BOTTLENECK_WORDS


@dataclass(frozen=True)
class Diagnosis:
    facts: RunFacts
    gap: Gap
    best_plan: dict[str, Any]
    predicted_step_time_s: float
    best_step_time_s: float
    components: dict[str, dict[str, float]]
    recommendations: list[Recommendation]
    framework_applied: bool
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The `flopgrid diagnose --json` object (DESIGN.md keys first)."""
        f, g, r = self.facts, self.gap, self.facts.report
        return {
            "measured_mfu": g.measured_mfu,
            "predicted_mfu": g.predicted_mfu,
            "ceiling_mfu": g.ceiling_mfu,
            "best_plan": self.best_plan,
            "gap_parts": {k: g.mfu[k] for k in GAP_PARTS},
            "recommendations": [x.as_dict() for x in self.recommendations],
            "gap": g.total,
            "productive_mfu": g.productive_mfu,
            "gap_seconds": {k: g.seconds[k] for k in GAP_PARTS},
            "gap_chip_hours_per_day": {k: g.chip_hours_per_day[k] for k in GAP_PARTS},
            "components": self.components,
            "plan": f.plan.as_dict(),
            "model": f.model.name,
            "hardware": f.hardware,
            "dtype": f.dtype,
            "chips": f.chips,
            "framework": f.framework,
            "framework_applied": self.framework_applied,
            "steps": r.steps,
            "global_batch_tokens": f.global_batch_tokens,
            "useful_flops": r.useful_flops,
            "peak_flops_per_chip": f.peak_flops_per_chip,
            "wall_s": r.wall_s,
            "productive_s": r.productive_s,
            "badput_s": dict(r.badput_s),
            "straggler_s": f.spread.straggler_s,
            "ranks": f.spread.as_dict(),
            "predicted_step_time_s": self.predicted_step_time_s,
            "best_step_time_s": self.best_step_time_s,
            "checkpoints": f.checkpoints,
            "notes": self.notes,
        }


def diagnose(log: LogContents, overrides: Overrides | None = None) -> Diagnosis:
    """Diagnose the run in `log` (all its ranks' events)."""
    f = run_facts(log, overrides)
    notes = list(f.notes)
    cluster = run_cluster(f.hardware, f.chips, f.dtype, f.peak_flops_per_chip, f.memory_bytes, f.memory_bytes_per_s)
    pred, applied = predict_plan(f.model, cluster, f.chips, f.plan, f.global_batch_tokens, f.dtype, f.framework)
    # the ceiling is searched on the same stack the declared plan was predicted on
    best = best_plan(f.model, cluster, f.chips, f.global_batch_tokens, f.dtype, f.framework if applied else None)
    if f.framework is not None and not applied:
        notes.append(f"framework {f.framework!r} recorded; no perf profile of that name runs the declared plan, so the "
                     "model's default stack is used (flopgrid predict --framework lists the profiles)")
    if not pred.fits:
        notes.append(f"the model predicts the declared plan does not fit ({pred.memory_gib_per_chip:.1f} of "
                     f"{pred.hbm_gib_per_chip:.1f} GiB per chip), yet it ran")
    if best is None or best.mfu < pred.mfu:
        notes.append("no fitting plan beats the declared one in the model: the ceiling is the declared plan's prediction")
        best = pred
    rep = f.report
    gap = split_gap(rep.useful_flops, f.chips, f.peak_flops_per_chip, rep.wall_s, rep.productive_s, rep.badput_s,
                    f.spread.straggler_s, pred.mfu, best.mfu)
    top = max(pred.breakdown, key=lambda k: pred.breakdown[k])
    recs = recommend(gap, declared=f.plan, best=best.plan, chips=f.chips, hardware=f.hardware, steps=rep.steps,
                     slowest_rank=f.spread.slowest_rank, rank_step_s=f.spread.step_time_s,
                     median_step_s=f.spread.median_step_time_s, basis=f.spread.basis, checkpoints=f.checkpoints,
                     predicted_step_s=pred.step_time_s, top_component=BOTTLENECK_WORDS.get(top, top))
    return Diagnosis(facts=f, gap=gap, best_plan=best.plan.as_dict(), predicted_step_time_s=pred.step_time_s,
                     best_step_time_s=best.step_time_s,
                     components={"declared": components(pred.breakdown), "best": components(best.breakdown)},
                     recommendations=recs, framework_applied=applied, notes=notes)
