"""The one candidate enumerator: every feasible (bid, pool, gang) option with its value and
its range of start intervals (`Options`), and `Columns`, candidate columns with one start
each (what a `MarketModel` is built from).

The exact model expands every start of every option into a binary column
(`Options.expand`); the large-market path keeps starts as ranges (at 10,000 bids x 1,000
pools the expansion is tens of millions of columns). Eligibility is a (bids x pools) boolean matrix per gang slot
(hardware, region, window overlap, island fit, offered chips), starts stay a range
[start_lo, start_hi] per triple (the Lagrangian picks the best start by a sliding-window
sum), and valuation goes through one perf-model evaluation per distinct (model, cluster,
gang) and one goodput per distinct (gang, MTTF, checkpoint) (`Valuer` caches them; a
subclass with its own `delivery` is asked per (model, pool, gang)).

The same exact reduction as the monolithic model is applied: a triple whose value per
interval cannot beat (1 + reserve fraction) x chips x hours x the pool's cheapest step can
only lower welfare and is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from flopgrid.market.orders import Scenario
from flopgrid.market.validation import canonical_hardware
from flopgrid.market.valuation import Valuer


@dataclass(frozen=True)
class Columns:
    """Candidate columns (bid, pool, gang chips, start) with the value of the whole
    allocation (USD); index arrays are int64."""

    bid: np.ndarray
    pool: np.ndarray
    chips: np.ndarray
    start: np.ndarray
    value_usd: np.ndarray

    def __post_init__(self) -> None:
        for name in ("bid", "pool", "chips", "start"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64).reshape(-1))
        object.__setattr__(self, "value_usd", np.asarray(self.value_usd, dtype=float).reshape(-1))

    def __len__(self) -> int:
        return len(self.bid)

    @classmethod
    def empty(cls) -> Columns:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, np.zeros(0))

    def take(self, idx: np.ndarray) -> Columns:
        return Columns(self.bid[idx], self.pool[idx], self.chips[idx], self.start[idx], self.value_usd[idx])

    def keys(self) -> list[tuple[int, int, int, int]]:
        """(bid, pool, chips, start) per column."""
        return list(zip(self.bid.tolist(), self.pool.tolist(), self.chips.tolist(), self.start.tolist()))

    def union(self, other: Columns) -> Columns:
        """These columns plus those of `other` not among them (same order otherwise)."""
        have = set(self.keys())
        new = np.array([k not in have for k in other.keys()], dtype=bool)
        o = other.take(np.flatnonzero(new))
        return Columns(np.r_[self.bid, o.bid], np.r_[self.pool, o.pool], np.r_[self.chips, o.chips],
                       np.r_[self.start, o.start], np.r_[self.value_usd, o.value_usd])


@dataclass
class Options:
    """Feasible (bid, pool, gang) triples, sorted by bid. Starts s in [start_lo, start_hi]."""

    bid: np.ndarray  # int64 bid index
    pool: np.ndarray  # int64 pool index
    chips: np.ndarray  # int64 gang size
    start_lo: np.ndarray  # int64 earliest start on that pool
    start_hi: np.ndarray  # int64 latest start on that pool (inclusive)
    value_usd: np.ndarray  # float: value of the whole allocation (all its intervals)
    bid_len: np.ndarray  # per bid: intervals
    reasons: dict[int, str] = field(default_factory=dict)  # bid index -> why it has no option
    valuation_s: float = 0.0  # perf + reliability evaluations
    enumerate_s: float = 0.0  # eligibility masks and arrays
    perf_calls: int = 0  # distinct (model, cluster, gang) perf-model evaluations

    @property
    def n(self) -> int:
        return len(self.bid)

    def expand(self, idx: np.ndarray | None = None, value_usd: np.ndarray | None = None) -> Columns:
        """Every start of the options `idx` (default all) as columns; `value_usd` (per option
        in `idx`) replaces their values (the pool bound prices bids by value - lambda)."""
        idx = np.arange(self.n) if idx is None else np.asarray(idx, dtype=np.int64)
        n_st = self.start_hi[idx] - self.start_lo[idx] + 1
        rep = np.repeat(np.arange(len(idx)), n_st)
        start = self.start_lo[idx][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(n_st) - n_st, n_st))
        o = idx[rep]
        v = self.value_usd[o] if value_usd is None else np.asarray(value_usd, dtype=float)[rep]
        return Columns(self.bid[o], self.pool[o], self.chips[o], start, v)


def _index(values: list[str]) -> tuple[dict[str, int], np.ndarray]:
    names: dict[str, int] = {}
    idx = np.array([names.setdefault(v, len(names)) for v in values], dtype=np.int64)
    return names, idx


def _allowed(lists: list[list[str] | None], names: dict[str, int]) -> np.ndarray:
    """(bids x names) bool: which names each bid allows (None = all)."""
    out = np.zeros((len(lists), max(len(names), 1)), dtype=bool)
    for b, lst in enumerate(lists):
        if lst is None:
            out[b, :] = True
        else:
            for v in lst:
                if v in names:
                    out[b, names[v]] = True
    return out


def _distinct(key: np.ndarray, key_space: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of `key` (ints in [0, key_space)), a position holding each, and
    each element's index into them. A dense table when the key space is small (no sort: at
    10,000 x 1,000 the 1.7M EFLOP-bid triples share a few thousand keys), np.unique otherwise."""
    if key_space > max(4 * len(key), 1 << 16):
        uk, at, inv = np.unique(key, return_index=True, return_inverse=True)
        return uk, at, inv.reshape(-1)
    at_of = np.full(key_space, -1, dtype=np.int64)
    at_of[key] = np.arange(len(key))  # any position of a key will do: they share the valuation
    uk = np.flatnonzero(at_of >= 0)
    slot = np.full(key_space, -1, dtype=np.int64)
    slot[uk] = np.arange(len(uk))
    return uk, at_of[uk], slot[key]


def enumerate_options(scenario: Scenario, valuer: Valuer) -> Options:
    """All feasible (bid, pool, gang) triples of `scenario` with values (see module docstring)."""
    t0 = time.perf_counter()
    T = scenario.horizon.intervals
    h = scenario.horizon.interval_hours
    f = scenario.reserve.fraction
    pools, bids = scenario.pools, scenario.bids
    B = len(bids)
    hw_names, pool_hw = _index([canonical_hardware(p.hardware) for p in pools])
    reg_names, pool_reg = _index([p.region for p in pools])
    hw_ok = _allowed([[canonical_hardware(x) for x in b.hardware] if b.hardware else None for b in bids], hw_names)
    reg_ok = _allowed([list(b.region) if b.region else None for b in bids], reg_names)
    elig = hw_ok[:, pool_hw] & reg_ok[:, pool_reg]  # (B, P)
    first = np.array([0 if p.available is None else p.available[0] for p in pools], dtype=np.int64)
    end = np.array([T if p.available is None else p.available[1] + 1 for p in pools], dtype=np.int64)
    island = np.array([p.island_chips for p in pools], dtype=np.int64)
    offered = np.array([p.offered_chips for p in pools], dtype=float)
    min_price = np.array([min(s.price_per_chip_hour for s in p.offer) for p in pools], dtype=float)
    es = np.array([b.window[0] for b in bids], dtype=np.int64)
    le = np.array([b.window[1] for b in bids], dtype=np.int64)
    L = np.array([b.intervals for b in bids], dtype=np.int64)
    # some start s with max(es, first) <= s and s + L <= min(le, end): four comparisons, each
    # a (bids x pools) boolean (no (bids x pools) integer temporaries: at 10,000 x 1,000 each
    # would be 80 MB)
    in_win = elig & ((es + L) <= le)[:, None] & ((es + L)[:, None] <= end[None, :]) \
        & (first[None, :] <= (le - L)[:, None]) & ((end - first)[None, :] >= L[:, None])
    G = max((len(b.chips) for b in bids), default=0)
    gangs = np.zeros((B, G), dtype=np.int64)
    for i, b in enumerate(bids):
        gangs[i, G - len(b.chips):] = sorted(b.chips)  # ascending, padding (0) first
    # (bids, pools, gang slots): np.nonzero returns the triples sorted by bid, pool, gang
    fit = np.empty((B, len(pools), G), dtype=bool)
    for k in range(G):
        g = gangs[:, k]
        fit[:, :, k] = in_win & (g[:, None] > 0) & (g[:, None] <= island[None, :]) \
            & (g[:, None] * (1.0 + f) <= offered[None, :] + 1e-9)
    fits_any = fit.any(axis=(1, 2))
    tb, tp, tk = np.nonzero(fit)
    del fit
    tg = gangs[tb, tk]
    t_enum = time.perf_counter() - t0

    # valuation: value per interval of each triple
    t1 = time.perf_counter()
    n_calls_before = len(valuer._mfu)
    chip_hour = np.array([b.max_price_per_chip_hour if b.max_price_per_chip_hour is not None else np.nan
                          for b in bids], dtype=float)
    per_eflop = np.array([b.max_price_per_eflop if b.max_price_per_eflop is not None else np.nan
                          for b in bids], dtype=float)
    v = np.where(np.isnan(chip_hour[tb]), 0.0, chip_hour[tb] * tg * h)
    is_eflop = ~np.isnan(per_eflop[tb])
    if is_eflop.any():
        # distinct (model, pool class, gang): pool class = (cluster, hardware, MTTF, checkpoint)
        _models, bid_model = _index([b.model if isinstance(b.model, str) else repr(sorted(b.model.items()))
                                         for b in bids])
        if type(valuer).delivery is Valuer.delivery:
            classes, pool_class = _index([repr((valuer.cluster(p)[1], p.hardware, p.mttf_chip_hours, p.checkpoint_s))
                                          for p in pools])
        else:  # a valuer with its own delivery model (the simulator's) may tell any two pools apart
            classes, pool_class = _index([str(i) for i in range(len(pools))])
        ei = np.nonzero(is_eflop)[0]
        gu, g_idx = np.unique(gangs, return_inverse=True)  # distinct gang sizes (few)
        g_idx = g_idx.reshape(gangs.shape)
        key = (bid_model[tb[ei]] * len(classes) + pool_class[tp[ei]]) * len(gu) + g_idx[tb[ei], tk[ei]]
        uk, at, inv = _distinct(key, len(_models) * len(classes) * len(gu))
        eflop = np.empty(len(uk))
        for j, a in enumerate(at.tolist()):
            i = int(ei[a])
            eflop[j] = valuer.delivery(bids[int(tb[i])], pools[int(tp[i])], int(tg[i])).useful_eflop_per_interval
        v[ei] = per_eflop[tb[ei]] * eflop[inv]
    t_val = time.perf_counter() - t1

    margin = v - (1.0 + f) * tg * h * min_price[tp]
    keep = margin > 1e-9 * np.maximum(1.0, np.abs(v))
    tb, tp, tg, v = tb[keep], tp[keep], tg[keep], v[keep]  # still sorted by bid, pool, gang
    s_lo = np.maximum(es[tb], first[tp])
    s_hi = np.minimum(le[tb], end[tp]) - L[tb]
    opts = Options(tb, tp, tg, s_lo, s_hi, v * L[tb], L, {}, t_val,
                   t_enum + (time.perf_counter() - t1 - t_val), len(valuer._mfu) - n_calls_before)
    has = np.zeros(B, dtype=bool)
    has[tb] = True
    any_elig, any_win = elig.any(axis=1), in_win.any(axis=1)
    for b in np.nonzero(~has)[0].tolist():
        if not any_elig[b]:
            opts.reasons[b] = "no pool with an allowed hardware and region"
        elif not any_win[b]:
            opts.reasons[b] = "no pool available inside the bid's window"
        elif not fits_any[b]:
            opts.reasons[b] = "no allowed gang size fits a pool's island and offered chips"
        else:
            opts.reasons[b] = "bid value below every eligible pool's cheapest offer"
    return opts
