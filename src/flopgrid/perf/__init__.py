"""Performance model and parallelism planner: what step time, MFU and memory a plan
reaches on a cluster, and which plan is best (DESIGN.md layer `perf`; numpy only)."""

from flopgrid.perf.best import best_plan_mfu, default_global_batch_tokens
from flopgrid.perf.constants import CALIBRATION, Calibration
from flopgrid.perf.plan import RECOMPUTE_CHOICES, Plan, check_plan
from flopgrid.perf.predict import Prediction, predict
from flopgrid.perf.search import PlanSearch, enumerate_plans, search_plans

__all__ = [
    "CALIBRATION", "RECOMPUTE_CHOICES", "Calibration", "Plan", "PlanSearch", "Prediction",
    "best_plan_mfu", "check_plan", "default_global_batch_tokens", "enumerate_plans", "predict", "search_plans",
]
