"""`predict`: step time, throughput, MFU/HFU, memory and bottleneck of one plan."""

from __future__ import annotations

from dataclasses import dataclass, field

from flopgrid.catalog.cluster import Cluster
from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.engine import BREAKDOWN_KEYS, MEMORY_KEYS, PlanArrays, evaluate
from flopgrid.perf.fabric import Fabric
from flopgrid.perf.plan import Plan, check_plan, global_batch_seqs
from flopgrid.perf.shape import model_shape
from flopgrid.perf.stack import Stack, framework_violation, resolve_framework

GIB = 2.0**30

BOTTLENECK_WORDS: dict[str, str] = {
    "gemm": "GEMM compute (healthy)",
    "attention": "attention core",
    "elementwise": "memory-bound element-wise ops",
    "recompute": "activation recomputation",
    "tp_comm": "tensor-parallel communication",
    "cp_comm": "context-parallel ring exchange",
    "ep_comm": "expert-parallel all-to-all",
    "pp_comm": "pipeline point-to-point sends",
    "head": "output head (logits, loss)",
    "pipeline_bubble": "pipeline bubble",
    "dp_comm": "data-parallel gradient sync",
    "fsdp_comm": "FSDP parameter gathers",
    "optimizer": "optimizer update",
    "overlap_slowdown": "compute slowed by overlapping communication kernels",
    "stragglers": "waiting for the slowest rank (stragglers)",
    "beyond_published": "capped at the best published MFU for this chip and scale (see ceiling_note)",
}


@dataclass(frozen=True)
class Prediction:
    """What one plan reaches (seconds, tokens/s, fractions, GiB)."""

    plan: Plan
    step_time_s: float
    tokens_per_second: float
    mfu: float
    hfu: float
    memory_gib_per_chip: float
    fits: bool
    hbm_gib_per_chip: float
    micro_batches: int
    breakdown: dict[str, float] = field(default_factory=dict)  # seconds per component, sums to the step
    memory_breakdown_gib: dict[str, float] = field(default_factory=dict)
    bottleneck: str = ""
    framework: str = ""
    mfu_low: float = 0.0  # the band from the leave-one-source-out error for this kind of run
    mfu_high: float = 0.0
    ceiling_note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "plan": self.plan.as_dict(),
            "step_time_s": self.step_time_s,
            "tokens_per_second": self.tokens_per_second,
            "mfu": self.mfu,
            "hfu": self.hfu,
            "memory_gib_per_chip": self.memory_gib_per_chip,
            "fits": self.fits,
            "hbm_gib_per_chip": self.hbm_gib_per_chip,
            "micro_batches": self.micro_batches,
            "breakdown": dict(self.breakdown),
            "memory_breakdown_gib": dict(self.memory_breakdown_gib),
            "bottleneck": self.bottleneck,
            "framework": self.framework,
            "mfu_low": self.mfu_low,
            "mfu_high": self.mfu_high,
            "ceiling_note": self.ceiling_note,
        }


def bottleneck_of(breakdown: dict[str, float]) -> str:
    """The largest component of the step, in words."""
    key = max(breakdown, key=lambda k: breakdown[k])
    return BOTTLENECK_WORDS.get(key, key)


def prediction_from(result: dict, i: int, plan: Plan, hbm_bytes: float, framework: str = "",
                    band: tuple[float, float] = (1.0, 1.0)) -> Prediction:
    """Row `i` of an `evaluate` result as a Prediction; `band` = (low, high) multipliers of
    the MFU for the kind of run (flopgrid.perf.band.mfu_band)."""
    breakdown = {k: float(result[f"t_{k}"][i]) for k in BREAKDOWN_KEYS}
    breakdown["beyond_published"] = 0.0
    mfu = float(result["mfu"][i])
    return Prediction(
        plan=plan,
        step_time_s=float(result["step_time_s"][i]),
        tokens_per_second=float(result["tokens_per_second"][i]),
        mfu=float(result["mfu"][i]),
        hfu=float(result["hfu"][i]),
        memory_gib_per_chip=float(result["memory_bytes"][i]) / GIB,
        fits=bool(result["fits"][i]),
        hbm_gib_per_chip=hbm_bytes / GIB,
        micro_batches=int(round(float(result["micro_batches"][i]))),
        breakdown=breakdown,
        memory_breakdown_gib={k: float(result[f"mem_{k}"][i]) / GIB for k in MEMORY_KEYS},
        bottleneck=bottleneck_of(breakdown),
        framework=framework,
        mfu_low=mfu * band[0],
        mfu_high=mfu * band[1],
    )


def apply_ceiling(pred: Prediction, hardware: str, chips: int) -> Prediction:
    """Cap `pred` at the best published MFU for `hardware` near `chips` times (1 + the
    band's upper error) (flopgrid.perf.ceiling); the added seconds go to the breakdown's
    `beyond_published` and `ceiling_note` names the published run. Unchanged below it."""
    from dataclasses import replace

    from flopgrid.perf.band import band_errors
    from flopgrid.perf.ceiling import published_ceiling

    best = published_ceiling(hardware, chips)
    if best is None or pred.mfu <= 0.0:
        return pred
    limit = best.mfu * (1.0 + max(band_errors(hardware, chips, pred.plan.zero)[1], 0.0))
    if pred.mfu <= limit:
        return pred
    scale = pred.mfu / limit
    step = pred.step_time_s * scale
    breakdown = dict(pred.breakdown)
    breakdown["beyond_published"] = step - pred.step_time_s
    note = (f"the model gives {100 * pred.mfu:.1f}% MFU, above the best published for {hardware} near {chips} chips "
            f"({100 * best.mfu:.1f}%: {best.source}) by more than this kind of run's band; capped at "
            f"{100 * limit:.1f}%")
    return replace(pred, step_time_s=step, tokens_per_second=pred.tokens_per_second / scale, mfu=limit,
                   hfu=pred.hfu / scale, mfu_low=pred.mfu_low / scale, mfu_high=pred.mfu_high / scale,
                   breakdown=breakdown, bottleneck=bottleneck_of(breakdown), ceiling_note=note)


def predict(model: ModelSpec, cluster: Cluster, chips: int, plan: Plan, global_batch_tokens: int,
            dtype: str = "bf16", flash_attention: bool = True, calibration: Calibration = CALIBRATION,
            framework=None, ceiling: bool = True) -> Prediction:
    """Predict one plan. Raises UserInputError when the plan breaks a constraint (tp*pp*dp*cp
    != chips, tp not dividing heads, batch not divisible, ...) or the framework cannot run
    it; a plan that does not fit in memory is a valid answer with `fits=False`.

    `framework`: a FrameworkProfile, a shipped profile name or a profile file (None: the
    default, `megatron-core`); `flash_attention=False` forces the unfused attention path.
    `ceiling`: cap at the best published MFU for the chip and scale (apply_ceiling); False
    gives the raw model (what bench/perf_accuracy.py checks)."""
    from flopgrid.errors import UserInputError
    from flopgrid.perf.band import mfu_band

    check_plan(model, chips, plan, global_batch_tokens)
    profile = resolve_framework(framework)
    why = framework_violation(profile, plan)
    if why:
        raise UserInputError(why)
    fab = Fabric.of(cluster, dtype)
    stack = Stack.of(profile, cluster.accelerator, calibration, flash_attention)
    result = evaluate(model_shape(model), fab, PlanArrays.of([plan]), global_batch_seqs(model, global_batch_tokens),
                      calibration, flash_attention, stack=stack)
    band = mfu_band(cluster.accelerator.name, chips, plan.zero)
    pred = prediction_from(result, 0, plan, fab.hbm_bytes, profile.name, band)
    return apply_ceiling(pred, cluster.accelerator.name, chips) if ceiling else pred
