"""The diagnosis's only door to the performance model (flopgrid.perf).

`perf_call` is the ONE place a framework profile is handed to perf: it passes
`framework=` to a perf function that accepts it (the framework profiles of the perf
layer) and leaves it out otherwise, saying so in the diagnosis notes.

The perf model reads the chip through `Cluster.accelerator`; `run_cluster` gives it the
chip the run was measured on: the catalog's figures (or, for `cpu`, the RAM and copy
bandwidth the meter recorded) with the peak replaced by the one in the log, so measured
and predicted MFU share one denominator.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import PrivateAttr

from flopgrid.catalog import Accelerator, Cluster, default_cluster, get_accelerator
from flopgrid.errors import NoSolutionError, UserInputError
from flopgrid.perf import Plan, Prediction, predict, search_plans

CPU_LINK_BYTES_PER_S = 1e9  # processes on one host: loopback TCP (gloo), the catalog's `cpu-host` figure


class _RunCluster(Cluster):
    """A cluster whose chip is given (not looked up by name)."""

    _chip: Accelerator | None = PrivateAttr(default=None)

    @property
    def accelerator(self) -> Accelerator:  # type: ignore[override]
        return self._chip if self._chip is not None else super().accelerator


def run_cluster(hardware: str, chips: int, dtype: str, peak_flops_per_chip: float,
                memory_bytes: float | None = None, memory_bytes_per_s: float | None = None) -> Cluster:
    """The cluster a run ran on, with the run's recorded peak for `dtype`."""
    if hardware == "cpu":
        if not memory_bytes or not memory_bytes_per_s:
            raise UserInputError("the log of a cpu run records no RAM / memory bandwidth (metered by an older "
                                 "flopgrid): re-run it to diagnose")
        chip = Accelerator(name="cpu", vendor="measured", peak_flops={dtype: peak_flops_per_chip},
                           hbm_bytes=memory_bytes, hbm_bytes_per_s=memory_bytes_per_s,
                           scale_up_bytes_per_s=CPU_LINK_BYTES_PER_S, sources={"peak_flops": "the run's log"})
        base = Cluster(name="cpu-host", hardware="cpu", chips=chips, scale_up_domain=1,
                       scale_up_bytes_per_s=CPU_LINK_BYTES_PER_S, scale_out_bytes_per_s=CPU_LINK_BYTES_PER_S,
                       source="processes on this host (gloo over loopback)")
    else:
        acc = get_accelerator(hardware)
        chip = acc.model_copy(update={"peak_flops": {**acc.peak_flops, dtype: peak_flops_per_chip}})
        base = default_cluster(acc.name, chips)
    cluster = _RunCluster(**base.model_dump())
    cluster._chip = chip
    return cluster


def perf_call(fn: Callable[..., Any], *args: Any, framework: str | None = None, **kwargs: Any) -> tuple[Any, bool]:
    """`fn(*args, **kwargs)` with `framework=` added when given, `fn` accepts it and the
    profile exists and can run the call; returns (result, whether the framework was applied)."""
    applied = framework is not None and "framework" in inspect.signature(fn).parameters
    if applied:
        try:
            return fn(*args, framework=framework, **kwargs), True
        except UserInputError:
            # the log's framework names no perf profile (an integration such as hf-trainer,
            # lightning or ddp), or its profile cannot run the plan the run declares: the
            # prediction uses perf's default stack and the diagnosis says so (framework_applied)
            pass
    return fn(*args, **kwargs), False


def predict_plan(model, cluster: Cluster, chips: int, plan: Plan, global_batch_tokens: int, dtype: str,
                 framework: str | None) -> tuple[Prediction, bool]:
    """The model's prediction for the plan the run declares."""
    return perf_call(predict, model, cluster, chips, plan, global_batch_tokens, dtype=dtype, framework=framework)


def best_plan(model, cluster: Cluster, chips: int, global_batch_tokens: int, dtype: str,
              framework: str | None) -> Prediction | None:
    """The planner's best fitting plan on the same chips and batch (None when none fits)."""
    try:
        search, _ = perf_call(search_plans, model, cluster, chips, global_batch_tokens, top_k=1, dtype=dtype,
                              framework=framework)
    except NoSolutionError:
        return None
    return search.best
