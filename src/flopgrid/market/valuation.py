"""Valuation: what a bid is worth on a given pool (DESIGN.md "The market", step 1).

For every (bid, pool, gang size) the perf model's best plan on the pool's cluster gives the
MFU, the reliability model (Young 1974 / Daly 2006 checkpointing) the expected goodput, and

    useful_eflop_per_interval = mfu x goodput x chips x peak_flops x interval_s / 1e18

with the dense peak of the chip's training dtype (bf16; fp16 on a V100).

A `max_price_per_eflop` bid is then worth max_price_per_eflop x useful_eflop per interval on
that pool: slow fabrics, small islands and unreliable pools deliver fewer useful FLOPs and so
clear lower. A `max_price_per_chip_hour` bid is worth its price x chips x hours anywhere.
Results are cached per (model, hardware, chips, cluster).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flopgrid.catalog import Cluster, ModelSpec, default_cluster, get_accelerator, load_cluster, load_model
from flopgrid.errors import UserInputError
from flopgrid.market.orders import Bid, Pool
from flopgrid.reliability.presets import DEFAULT_CHECKPOINT_S, LLAMA3_MTTF_CHIP_HOURS

# Used when a pool gives none: Llama 3's failure rate and the reliability layer's default
# checkpoint stall (flopgrid.reliability.presets).
DEFAULT_MTTF_CHIP_HOURS = LLAMA3_MTTF_CHIP_HOURS

MfuFn = Callable[[ModelSpec, Cluster, int], float]
GoodputFn = Callable[[int, float, float], float]


def _perf_mfu(model: ModelSpec, cluster: Cluster, chips: int) -> float:
    from flopgrid.perf import best_plan_mfu  # the perf layer (issue 3)

    return best_plan_mfu(model, cluster, chips)


def _reliability_goodput(chips: int, mttf_chip_hours: float, checkpoint_s: float) -> float:
    from flopgrid.reliability import expected_goodput

    return expected_goodput(chips, mttf_chip_hours, checkpoint_s)


def pool_cluster(pool: Pool) -> Cluster:
    """The fabric a pool's jobs run on: its `cluster` (name or inline spec) or the default."""
    if pool.cluster is None:
        return default_cluster(pool.hardware, pool.chips)
    if isinstance(pool.cluster, str):
        return load_cluster(pool.cluster)
    data = {"name": "inline", "hardware": pool.hardware, "chips": pool.chips, **pool.cluster}
    try:
        return Cluster(**data)
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError, one line
        raise UserInputError(str(exc).splitlines()[0] if str(exc) else "invalid cluster") from None


@dataclass(frozen=True)
class Delivery:
    """Predicted delivery of one gang on one pool, per interval."""

    predicted_mfu: float
    goodput: float
    useful_eflop_per_interval: float


@dataclass
class Valuer:
    """Memoised valuation of (bid, pool, gang). `mfu_fn`/`goodput_fn` default to the perf
    and reliability layers."""

    interval_hours: float
    mfu_fn: MfuFn = _perf_mfu
    goodput_fn: GoodputFn = _reliability_goodput
    _delivery: dict[tuple, Delivery] = field(default_factory=dict)
    _mfu: dict[tuple, float] = field(default_factory=dict)
    _goodput: dict[tuple, float] = field(default_factory=dict)
    _models: dict[str, tuple[ModelSpec, str]] = field(default_factory=dict)
    _clusters: dict[str, tuple[Cluster, str]] = field(default_factory=dict)

    def _model(self, bid: Bid) -> tuple[ModelSpec, str]:
        key = bid.model if isinstance(bid.model, str) else repr(sorted(bid.model.items()))
        if key not in self._models:
            spec = load_model(bid.model)
            self._models[key] = (spec, spec.model_dump_json())
        return self._models[key]

    def model(self, bid: Bid) -> ModelSpec:
        return self._model(bid)[0]

    def cluster(self, pool: Pool) -> tuple[Cluster, str]:
        if pool.id not in self._clusters:
            c = pool_cluster(pool)
            self._clusters[pool.id] = (c, c.model_dump_json())
        return self._clusters[pool.id]

    def delivery(self, bid: Bid, pool: Pool, chips: int) -> Delivery:
        """MFU, goodput and useful EFLOP per interval of `bid` on `pool` with `chips` chips."""
        model, mkey = self._model(bid)
        cluster, ckey = self.cluster(pool)
        mttf = pool.mttf_chip_hours or DEFAULT_MTTF_CHIP_HOURS
        ckpt = DEFAULT_CHECKPOINT_S if pool.checkpoint_s is None else pool.checkpoint_s
        key = (mkey, ckey, chips, mttf, ckpt)
        d = self._delivery.get(key)
        if d is None:
            mkey_ = (mkey, ckey, chips)  # perf: per (model, hardware, chips, cluster)
            if mkey_ not in self._mfu:
                self._mfu[mkey_] = float(self.mfu_fn(model, cluster, chips))
            gkey = (chips, mttf, ckpt)
            if gkey not in self._goodput:
                self._goodput[gkey] = float(self.goodput_fn(chips, mttf, ckpt))
            mfu, goodput = self._mfu[mkey_], self._goodput[gkey]
            acc = get_accelerator(pool.hardware)
            peak = acc.peak(acc.training_dtype)
            eflop = mfu * goodput * chips * peak * self.interval_hours * 3600.0 / 1e18
            d = Delivery(mfu, goodput, eflop)
            self._delivery[key] = d
        return d

    def value_per_interval_usd(self, bid: Bid, pool: Pool, chips: int) -> float:
        """What `bid` is willing to pay per interval for `chips` chips of `pool` (USD)."""
        if bid.max_price_per_chip_hour is not None:
            return bid.max_price_per_chip_hour * chips * self.interval_hours
        return float(bid.max_price_per_eflop) * self.delivery(bid, pool, chips).useful_eflop_per_interval
