"""Knobs of the large-market path (`flopgrid.market.large`), with the reasons for their defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LargeConfig:
    """Shares are fractions of the time limit, measured from the start of `solve_large`."""

    # bound: column generation on the restricted master LP
    max_rounds: int = 30
    bound_tol: float = 1e-4  # stop when D and the master LP agree this closely (the LP bound is reached)
    bound_share: float = 0.2  # column generation stops here (its master LPs grow slow at 10,000 bids)
    smoothing: float = 0.5  # Wentges (1997) dual smoothing between the best and the latest duals
    options_per_bid: int = 2  # seed columns per bid at the cheapest-step prices
    starts_per_option: int = 2
    columns_per_bid_round: int = 1  # > 1: also each bid's next-best options that price out, per round (4 at
    # 3,000 x 300: master LP 1.78M -> 1.86M in 3 rounds, yet D no better without L-BFGS; left at 1)
    # bound: L-BFGS-B on D when column generation stopped before convergence
    lbfgs_until: float = 0.7
    lbfgs_min_gap: float = 0.005  # only when D is this far above the master LP (else the time goes to the allocation)
    # ... and until D falls by less than lbfgs_stall_tol over the last lbfgs_stall_evaluations
    # (measured at 10,000 x 1,000 seed 1 from the cheapest-step prices: D 8.80M after 5 s, 7.32M
    # after 10 s, 7.18M after 15 s (104 evaluations), 7.12M after 40 s (288); the greedy at
    # those prices 4.03M, 5.18M, 5.47M, 5.46M: the last 25 s are worth more to the search)
    lbfgs_stall_evaluations: int = 40
    lbfgs_stall_tol: float = 0.004
    # bound, large markets: the entropy-smoothed dual (smooth.smoothed_bound), annealed, with
    # an exact D per stage, in place of L-BFGS on D where column generation does not converge.
    # Between `smooth_min_options` and `smooth_max_options` options column generation is
    # skipped (measured at 3,000 x 300, 283k options: it does not converge in 60 s, its 5
    # rounds take 9 s; the smoothed dual from the cheapest-step prices settles at D = 1.9156M
    # in 14 s where column generation + L-BFGS on D reach 1.9168M in 42 s). Above the max (at
    # 10,000 x 1,000, 3.1M options) neither converges in 60 s on 2 CPUs and the smoothed dual
    # was no better than L-BFGS on D (7.3-8.7M vs 7.4-7.6M after 30-40 s): L-BFGS on D runs
    # there, from the cheapest-step prices (column generation is skipped there too: its one
    # round in the time left a start from which L-BFGS reached 7.28M in 28 s, against 7.14M in
    # 25 s from the cheapest-step prices, seed 1)
    smooth: bool = True
    smooth_min_options: int = 100_000
    smooth_max_options: int = 1_000_000
    smooth_tau_share: float = 0.1  # first temperature: this share of the median best reduced value
    smooth_tau_decay: float = 0.5
    smooth_min_tau_share: float = 1e-4
    smooth_stage_evaluations: int = 40
    smooth_master_weight: float = 1e-3  # pairs above this soft-max weight seed the dive's master LP
    # bound: Lagrangian relaxation of the bid rows with one exact sub-MIP per pool (pool_bound)
    # (measured on generated 60-bid x 10-pool markets: LP bound 5-12% above the optimum, this
    # bound 0.3-1.5% in ~19 s; a round at 100 pools takes > 50 s, so larger markets skip it)
    pool_bound: bool = True
    pool_bound_max_pools: int = 40
    improve_until_with_pool_bound: float = 0.45  # the neighbourhood search then yields to the pool bound
    pool_bound_until: float = 0.9
    pool_sub_time_limit_s: float = 1.0  # a pool sub-MIP stopped here contributes its proven dual bound
    # bound, larger markets: the same pool sub-MIPs at the bound's prices, congested pools first,
    # each tightening D(mu) by D_p - z_p (pool_bound.pool_bound_at_prices; measured at 1,000 x 100:
    # all 65 congested pools in 27 s at 0.5 s each, LP bound 531.9k -> 522.9k); its schedules
    # then seed the allocation (repair.adopt_schedules)
    prices_pool_bound: bool = True
    prices_pool_bound_share: float = 0.1
    prices_pool_sub_time_limit_s: float = 0.3
    prices_pool_max_binaries: int = 3000
    # allocation: the greedy in both bid orders (greedy.capacity_greedy) up to this many options
    # (at 10,000 x 1,000, 3.1M options, one order takes ~5 s and by density lost by 4.7%)
    greedy_both_orders_max_options: int = 1_000_000
    # allocation: LP diving on the master with pricing (dive.lp_dive; measured at 1,000 x 100:
    # 472.9k in 10 s against the greedy's 453.2k and the search's 475k after 44 s)
    dive: bool = True
    dive_share: float = 0.25
    dive_batch_share: float = 0.2  # of the open bids fixed per LP solve (0.05: 3x the time, no better)
    # improve: large-neighbourhood search with HiGHS sub-MIPs
    improve_until: float = 0.88  # leave the rest for pricing (fixed-integer LP) and assembly
    # ... or later, up to the limit less this reserve (measured: pricing + assembly + the
    # clearing's validation take ~0.3 s at 1,000 bids and ~2 s at 10,000; 0.88 left 7 s unused at 1,000)
    pricing_reserve_s: float = 3.0
    pricing_reserve_s_per_bid: float = 2e-4
    # The search starts small and doubles every size after a sweep of the pools without a gain.
    # Measured at 10,000 x 1,000 (seed 1): from 4 pools, 40 new bids, 2 s and 6,000 binaries
    # its sub-MIPs hit their time limit and 4 neighbourhoods in 8 s gained nothing (gap 26.2%);
    # from 1 pool, 10 bids, 0.3 s and 1,000 binaries 140 neighbourhoods in 8.7 s improved 118
    # (gap 19.6%). At 1,000 x 100 both starts end equal (477.9k vs 478.0k, seed 1)
    pools_per_neighbourhood: int = 1
    max_pools_per_neighbourhood: int = 16  # widening stops here (at or above it: the whole market on small ones)
    new_bids_per_pool: int = 10  # unserved bids offered to each neighbourhood pool, best reduced value first
    sub_time_limit_s: float = 0.3
    max_sub_binaries: int = 1000
    threads: int | None = None
