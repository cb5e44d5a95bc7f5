"""The capacity bound of `bench/thesis.py --frontier`: the most useful EFLOP per dollar any
policy can buy for a given amount of useful EFLOP inside the window, on the same demand and
fleet, when every chip-hour costs at least its pool's ask.

A linear relaxation, solved by HiGHS (`scipy.optimize.linprog(method="highs")`): variable
x[j, o] = useful EFLOP of job j done on option o = (pool, gang), every gang a policy here can
hold (`gangs`: `goodput`/`market` start at 1/4-1x of the request and double up to 4x;
`gpuhour` and the schedulers take the request) on pools whose island holds the gang;
- per job: sum_o x[j, o] <= its work W_j (EFLOP), and sum_o x[j, o] / r(j, o) <= the hours
  from its submission to the end of the window (a job runs on one allocation at a time);
- per pool p: sum x[j, o] g / r(j, o) <= chips(p) x window hours, with r the useful EFLOP
  per hour at the pool's *peak* rate (`Cluster.rate_flop_s`, no failure, restart or
  checkpoint loss: no run delivers more per chip-hour held);
- sum x >= the EFLOP asked for;
minimise sum x[j, o] ask(p) g / r(j, o). Arrival times, gang contiguity, repairs, queueing
and the order of jobs on a pool are dropped, so every real schedule is a feasible point of the LP:
its minimum is a lower bound on any policy's buyer dollars for that much useful work, and
EFLOP / minimum an upper bound on its useful EFLOP per buyer dollar.
"""

from __future__ import annotations

import math

import numpy as np

from flopgrid.sched.base import gang_options


def gangs(req: int) -> list[int]:
    """Every gang a policy of the thesis can hold: a start gang (`gang_options`: the request
    and the powers of two down to 1/4 of it) doubled any number of times up to 4x the request."""
    out = set()
    for g in gang_options(req, 4):
        while g <= 4 * req:
            out.add(g)
            g *= 2
    return sorted(out)


def min_usd(clusters: list, horizon_h: float, eflop: float) -> float:
    """Least buyer USD (at the asks) for `eflop` useful EFLOP over all `clusters`' jobs (finished
    simulations: a job's work is set when the run admitted it, so pass a run of a policy that
    admits every job that fits, such as `goodput`; one
    block per cluster: each cluster's pools serve only its own jobs) in the window [0,
    `horizon_h`] of simulated time (the simulator's `horizon_s`); inf if infeasible."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    rows, cols, vals, cost, ub = [], [], [], [], []
    row = var = 0
    for cl in clusters:
        pools = cl.pools()
        nj = len(cl.jobs)
        for k, job in enumerate(cl.jobs):
            ub.append(job.work_flop / 1e18)
            for g in gangs(job.spec.chips):
                for p in cl.pools_for(job, g):
                    e_h = cl.rate_flop_s(job, p, g) * 3600.0 / 1e18
                    if e_h > 0:
                        rows += [row + k, row + nj + k, row + 2 * nj + p]
                        cols += [var, var, var]
                        vals += [1.0, 1.0 / e_h, g / e_h]
                        cost.append(pools[p].price_per_chip_hour * g / e_h)
                        var += 1
        ub += [max(0.0, horizon_h - job.spec.submit_s / 3600.0) for job in cl.jobs]
        ub += [info.chips * horizon_h for info in pools]
        row += 2 * nj + len(pools)
    rows += [row] * var
    cols += list(range(var))
    vals += [-1.0] * var
    ub.append(-eflop)
    a = coo_matrix((vals, (rows, cols)), shape=(row + 1, var)).tocsr()
    res = linprog(np.asarray(cost), A_ub=a, b_ub=np.asarray(ub), bounds=(0, None), method="highs")
    return float(res.fun) if res.status == 0 else math.inf
