"""Useful FLOP/s of a job on a pool at a gang size, from the perf model (cached).

rate = MFU(best plan of `model` on the pool's fabric at `gang` chips) x gang x dense
peak. MFU comes from `flopgrid.perf.best_plan_mfu` (memoised there, cached again here per
(model, pool, gang)). 0 means the model does not fit at that gang size.
"""

from __future__ import annotations

from flopgrid.catalog import default_cluster, get_accelerator, get_model
from flopgrid.errors import FlopgridError
from flopgrid.flops import model_flops_per_token
from flopgrid.sim.fleet import FleetSpec

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
        self._ref: dict[tuple[str, str | None, int], float] = {}
        self._hw = [get_accelerator(p.hardware).name for p in fleet.pools]
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

    def reference_rate_flop_s(self, model: str, hardware: str | None, gang: int) -> float:
        """Useful FLOP/s of `model` at `gang` chips on a trace's own hardware: the fleet's
        first pool of that hardware whose island holds the gang, else the hardware's named
        catalog cluster (DGX-style default). `hardware` None: the fleet's first pool. 0: the
        model does not fit there."""
        key = (model, hardware, gang)
        v = self._ref.get(key)
        if v is not None:
            return v
        v = 0.0
        if hardware is None:
            if gang <= self.fleet.pools[0].nodes_per_island * self.fleet.pools[0].node_chips:
                v = self.rate_flop_s(model, 0, gang)
        else:
            hw = get_accelerator(hardware).name
            p = next((i for i, sp in enumerate(self.fleet.pools)
                      if self._hw[i] == hw and gang <= sp.nodes_per_island * sp.node_chips), -1)
            if p >= 0:
                v = self.rate_flop_s(model, p, gang)
            elif _best_plan_mfu is None:
                v = FALLBACK_MFU * gang * self._ref_peak(hw)
            else:
                base = default_cluster(hw)
                fab = base.model_copy(update={"chips": max(gang, base.chips)})
                dtype = "bf16" if get_accelerator(hw).peak_flops.get("bf16") else "fp16"
                mfu = min(1.0, max(0.0, self._perf_mfu(get_model(model), fab, gang, dtype)))
                v = mfu * gang * self._ref_peak(hw)
        self._ref[key] = v
        return v

    @staticmethod
    def _ref_peak(hw: str) -> float:
        acc = get_accelerator(hw)
        return float(acc.peak_flops.get("bf16") or acc.peak_flops.get("fp16") or 0.0)
