"""Useful FLOP/s of a job on a pool at a gang size, from the perf model (cached).

rate = MFU(best plan of `model` on the pool's fabric at `gang` chips) x gang x dense
peak. MFU comes from `flopgrid.perf.best_plan_mfu` (memoised there, cached again here per
(model, pool, gang)). 0 means the model does not fit at that gang size.
"""

from __future__ import annotations

from flopgrid.catalog import get_model
from flopgrid.flops import model_flops_per_token
from flopgrid.sim.fleet import FleetSpec

from flopgrid.errors import FlopgridError

try:  # perf is a sibling layer; sim may import it
    from flopgrid.perf import best_plan_mfu as _best_plan_mfu
    from flopgrid.perf import default_global_batch_tokens, search_plans
except ImportError:  # pragma: no cover - only while perf is not installed
    _best_plan_mfu = None

FALLBACK_MFU = 0.35
"""MFU used only when flopgrid.perf is not importable (so the simulator still runs)."""


class RateTable:
    """MFU and FLOP/s table for one fleet, filled lazily."""

    def __init__(self, fleet: FleetSpec) -> None:
        self.fleet = fleet
        self._fabric = [p.fabric() for p in fleet.pools]
        self._peak = [p.peak_flops_per_chip for p in fleet.pools]
        self._mfu: dict[tuple[str, int, int], float] = {}
        self._fpt: dict[str, float] = {}
        self.perf_available = _best_plan_mfu is not None

    def mfu(self, model: str, pool: int, gang: int) -> float:
        key = (model, pool, gang)
        v = self._mfu.get(key)
        if v is None:
            if _best_plan_mfu is None:
                v = FALLBACK_MFU
            else:
                fab = self._fabric[pool]
                if gang > fab.chips:
                    fab = fab.model_copy(update={"chips": gang})
                v = self._perf_mfu(get_model(model), fab, gang, self.fleet.pools[pool].compute_dtype)
            v = min(1.0, max(0.0, v))
            self._mfu[key] = v
        return v

    @staticmethod
    def _perf_mfu(spec, fab, gang: int, dtype: str) -> float:
        if dtype == "bf16":
            return float(_best_plan_mfu(spec, fab, gang))
        try:  # best_plan_mfu is bf16-only; V100 pools compute in fp16
            batch = default_global_batch_tokens(spec, gang)
            return float(search_plans(spec, fab, gang, batch, top_k=1, dtype=dtype).best.mfu)
        except (FlopgridError, ValueError, ZeroDivisionError, FloatingPointError):
            return 0.0

    def rate_flop_s(self, model: str, pool: int, gang: int) -> float:
        return self.mfu(model, pool, gang) * gang * self._peak[pool]

    def peak(self, pool: int) -> float:
        return self._peak[pool]

    def flops_per_token(self, model: str) -> float:
        v = self._fpt.get(model)
        if v is None:
            v = self._fpt[model] = float(model_flops_per_token(get_model(model)))
        return v
