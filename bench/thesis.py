"""The thesis benchmark: the useful-FLOP market (`market`) against a GPU-hour market
(`gpuhour`) and the classic schedulers on the same fleet and demand (issue 11).

For each load (default 0.7, 1.0, 1.3) and seed (default 0, 1, 2) it draws an llm-market
trace for the fleet (`trace synth --like llm-market`), runs every policy over the same
horizon (the trace's `days`, books closed there) and prints per policy the useful EFLOP,
buyer USD, useful EFLOP per buyer dollar and mean JCT of completed jobs, then per load:
- market / gpuhour useful EFLOP per buyer dollar (target >= 1.25x),
- market useful EFLOP / the best other policy's (target >= 1.0x),
- market mean JCT / the best non-elastic policy's (fifo, backfill, las, gpuhour; target
  <= 1.10x).
Ratios are of sums over seeds (mean JCT: mean over seeds). Held-out fleets: --fleet FILE.
Diagnostics printed under each load (not targets), so a missed EFLOP-per-$ target can be
read: welfare (value delivered - the providers' asks for the chip-hours held) per policy;
useful EFLOP per buyer $ on the matched jobs (completed under both market and gpuhour: the
same work, so the policies' different mixes of cheap and expensive work drop out); and the
ceiling on those matched jobs, the EFLOP per $ of each job's cheapest option at the asks
(any pool, gangs 1/4-1x of the request, expected goodput included, capacity unlimited): no
placement and no price at or above the asks can beat it.

    python bench/thesis.py [--fleet grid-mixed] [--loads 0.7,1.0,1.3] [--seeds 0,1,2] [--days 3]
                           [--market-buyer surplus|cost]
    python bench/thesis.py --frontier [0,0.02,0.05,0.1,0.25,0.5,1,2] [--html thesis-frontier.html]

`--market-buyer cost` runs `market` with the buyer that has no value for time (useful EFLOP
per dollar first, `flopgrid.sched.market`): the other end of the EFLOP-per-$ / EFLOP trade-off.

`--frontier` sweeps that trade-off: `market` once per buyer time value θ (`Market(time_value=θ)`:
a delay costs θ x the best surplus per hour, 0 = `cost`, 1 = `surplus`), the other policies
once per seed. Per load it prints each market point's useful EFLOP against the best other
policy's, EFLOP per $ against gpuhour's and mean JCT against the best non-elastic policy's,
next to gpuhour's and goodput's points; whether some market point dominates gpuhour (at
least its useful EFLOP and its EFLOP per $) and by how much (the smaller of the two
margins); and whether some point meets all three issue targets. Diagnostics per load: on
the matched jobs, each market point's $ per useful EFLOP against gpuhour's as a product of
price over the asks, pool choice, gang size (growth included), chip-hours held but not
computing (restarts, checkpoints, lost work) and the jobs' cheapest option; and the
capacity bound (`_thesis_bound`, skip with --no-bound): the most useful EFLOP per $ any
policy paying the asks could get for gpuhour's, a middle and the best other policy's
useful EFLOP. It writes the frontier as one self-contained Plotly page (`--html`).
"""

from __future__ import annotations

import argparse
import html
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flopgrid.sched import GpuHour, Market
from flopgrid.sched.base import Policy, eflop_per_hour, gang_options
from flopgrid.sched.market import BUYERS
from flopgrid.sim import RateTable, load_fleet, simulate
from flopgrid.sim.traces.llm_market import llm_market_jobs

OTHERS = ("fifo", "backfill", "las", "goodput", "gpuhour")
POLICIES = (*OTHERS, "market")
NON_ELASTIC = ("fifo", "backfill", "las", "gpuhour")
DEFAULT_FRONTIER = "0,0.02,0.05,0.1,0.25,0.5,1,2"
TARGET_USD, TARGET_EFLOP, TARGET_JCT = 1.25, 1.0, 1.10


def run_load(fleet, rates, load: float, seeds: list[int], days: float,
             markets: dict[str, Callable[[int], Policy]], keep: list | None = None) -> tuple[dict, dict]:
    """Every other policy once per seed and each market variant (label -> policy factory of
    the seed); returns per label the sums over seeds (eflop, usd, welfare; jct per seed) and
    per market label the matched-job sums (see `_matched`); appends each seed's goodput run
    to `keep` (it admits every job that fits, so its jobs carry the seed's whole demand)."""
    acc = {p: {"eflop": 0.0, "usd": 0.0, "jct": [], "welfare": 0.0} for p in (*OTHERS, *markets)}
    matched = {k: {"market": [0.0, 0.0], "gpuhour": [0.0, 0.0], "ceiling": [0.0, 0.0],
                   "parts": defaultdict(float), "gpuhour_parts": defaultdict(float)} for k in markets}
    horizon_s = days * 86400.0
    for seed in seeds:
        jobs = llm_market_jobs(fleet, load, days, seed=seed, rates=rates)
        print(f"load {load:.1f} seed {seed}: {len(jobs):,} jobs over {days:g} days on {fleet.name}")
        sims = {}
        for label in acc:
            pol = markets[label](seed) if label in markets else _recording(GpuHour)(seed=seed) \
                if label == "gpuhour" else label
            m, sims[label] = simulate(fleet, jobs, pol, seed=seed, rates=rates, horizon_s=horizon_s)
            a = acc[label]
            a["eflop"] += m["useful_eflop"]
            a["usd"] += m["buyer_usd"]
            a["jct"].append(m["avg_jct_h"])
            a["welfare"] += m.get("welfare_usd", 0.0)
            print(f"  {label:9s} EFLOP {m['useful_eflop']:10,.0f}  buyer $ {m['buyer_usd']:10,.0f}  "
                  f"EFLOP/$ {m['useful_eflop'] / m['buyer_usd']:.3f}  JCT {m['avg_jct_h']:6.2f} h  "
                  f"done {m['completed']:5d}  util {m['utilization']:.3f}  {m['wall_seconds']:.1f} s")
            sys.stdout.flush()
        for k in markets:
            _matched(sims[k], sims["gpuhour"], matched[k])
            _decompose(sims[k], sims["gpuhour"], matched[k]["parts"])
            _decompose(sims["gpuhour"], sims[k], matched[k]["gpuhour_parts"])
        if keep is not None:
            keep.append(sims["goodput"])
    return acc, matched


def ratios(acc: dict, label: str) -> dict:
    """The three target ratios of `label` (sums over seeds) and the policies they compare with."""
    per_usd = acc[label]["eflop"] / acc[label]["usd"]
    best_other = max(OTHERS, key=lambda p: acc[p]["eflop"])
    jct = {p: float(np.mean(a["jct"])) for p, a in acc.items()}
    best_jct = min(NON_ELASTIC, key=lambda p: jct[p])
    return {"usd": per_usd / (acc["gpuhour"]["eflop"] / acc["gpuhour"]["usd"]),
            "eflop": acc[label]["eflop"] / acc[best_other]["eflop"], "best_other": best_other,
            "eflop_gpuhour": acc[label]["eflop"] / acc["gpuhour"]["eflop"],
            "jct": jct[label] / jct[best_jct], "best_jct": best_jct, "jct_h": jct[label],
            "welfare_gpuhour": acc[label]["welfare"] / acc["gpuhour"]["welfare"]}


def meets(r: dict) -> bool:
    return r["usd"] >= TARGET_USD and r["eflop"] >= TARGET_EFLOP and r["jct"] <= TARGET_JCT


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleet", default="grid-mixed")
    ap.add_argument("--loads", default="0.7,1.0,1.3")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--market-buyer", choices=BUYERS, default="surplus")
    ap.add_argument("--frontier", nargs="?", const=DEFAULT_FRONTIER, default=None, metavar="θ,θ,...",
                    help=f"sweep the market buyer's time value (default {DEFAULT_FRONTIER})")
    ap.add_argument("--html", default="thesis-frontier.html", help="where --frontier writes its chart")
    ap.add_argument("--no-bound", action="store_true", help="--frontier without the capacity bound (LPs)")
    args = ap.parse_args()
    fleet = load_fleet(args.fleet)
    rates = RateTable(fleet)
    seeds = [int(x) for x in args.seeds.split(",")]
    loads = [float(x) for x in args.loads.split(",")]
    t_all = time.perf_counter()
    if args.frontier is not None:
        frontier(fleet, rates, loads, seeds, args.days, _thetas(ap, args.frontier), Path(args.html), not args.no_bound)
        print(f"total {time.perf_counter() - t_all:.0f} s")
        return
    verdict = []
    for load in loads:
        acc, matched = run_load(fleet, rates, load, seeds, args.days,
                                {"market": lambda s: _recording(Market)(seed=s, buyer=args.market_buyer)})
        r = ratios(acc, "market")
        print(f"LOAD {load:.1f}: market/gpuhour EFLOP per $ {r['usd']:.3f}x (>= 1.25: "
              f"{'met' if r['usd'] >= TARGET_USD else 'MISSED'}); market/{r['best_other']} useful EFLOP "
              f"{r['eflop']:.3f}x (>= 1.0: {'met' if r['eflop'] >= TARGET_EFLOP else 'MISSED'}); "
              f"market/{r['best_jct']} mean JCT {r['jct']:.3f}x (<= 1.10: {'met' if r['jct'] <= TARGET_JCT else 'MISSED'})")
        best_w = max(OTHERS, key=lambda p: acc[p]["welfare"])
        mk, gh, ce = (matched["market"][k][0] / matched["market"][k][1] for k in ("market", "gpuhour", "ceiling"))
        print(f"  diagnostics load {load:.1f}: welfare market ${acc['market']['welfare']:,.0f} = "
              f"{acc['market']['welfare'] / acc[best_w]['welfare']:.3f}x {best_w}'s, "
              f"{r['welfare_gpuhour']:.3f}x gpuhour's; matched jobs EFLOP per $ market "
              f"{mk:.3f}, gpuhour {gh:.3f} ({mk / gh:.3f}x); ceiling {ce:.3f} ({ce / gh:.3f}x gpuhour)")
        verdict.append((load, r["usd"], r["eflop"], r["jct"]))
    print(f"total {time.perf_counter() - t_all:.0f} s")
    for load, a, b, c in verdict:
        print(f"summary load {load:.1f}: EFLOP/$ vs gpuhour {a:.3f}x, EFLOP vs best other {b:.3f}x, JCT vs best non-elastic {c:.3f}x")


def _thetas(ap: argparse.ArgumentParser, text: str) -> list[float]:
    try:
        out = [float(x) for x in text.split(",")]
    except ValueError:
        out = []
    if not out or any(not (t >= 0.0 and np.isfinite(t)) for t in out):
        ap.error(f"--frontier takes time values >= 0 separated by commas (e.g. {DEFAULT_FRONTIER}), got {text!r}")
    return out


def frontier(fleet, rates, loads: list[float], seeds: list[int], days: float, thetas: list[float],
             out: Path, bound: bool = True) -> None:
    """`--frontier` (module docstring): print the table per load and write the chart."""
    markets = {f"θ={t:g}": (lambda s, t=t: _recording(Market)(seed=s, time_value=t)) for t in thetas}
    per_load = []
    for load in loads:
        runs: list = []
        acc, matched = run_load(fleet, rates, load, seeds, days, markets, runs)
        rows = {p: ratios(acc, p) for p in ("gpuhour", "goodput", *markets)}
        for k in markets:
            mk, gh, ce = (matched[k][x][0] / matched[k][x][1] for x in ("market", "gpuhour", "ceiling"))
            rows[k]["matched"], rows[k]["ceiling"] = mk / gh, ce / gh
        ref = rows["gpuhour"]
        print(f"FRONTIER load {load:.1f} on {fleet.name}, seeds {','.join(map(str, seeds))} (useful EFLOP vs "
              f"{ref['best_other']}, EFLOP per $ vs gpuhour, mean JCT vs {ref['best_jct']})")
        print(f"  {'point':16s} {'EFLOP':>7s} {'EFLOP/$':>8s} {'JCT':>7s} {'JCT h':>6s} {'EFLOP/gh':>8s} "
              f"{'welfare/gh':>10s} {'matched':>8s} {'ceiling':>8s}")
        for label, r in rows.items():
            extra = f" {r['matched']:7.3f}x {r['ceiling']:7.3f}x" if "matched" in r else ""
            name = f"market {label}" if label in markets else label
            print(f"  {name:16s} {r['eflop']:6.3f}x {r['usd']:7.3f}x {r['jct']:6.3f}x {r['jct_h']:6.2f} "
                  f"{r['eflop_gpuhour']:7.3f}x {r['welfare_gpuhour']:9.3f}x{extra}")
        print("  matched jobs, $ per useful EFLOP against gpuhour's on the same jobs, as a product (x < 1: cheaper): "
              "price over the asks x pool (vs the cheapest pool at the gang held) x gang (vs the best gang 1/4-1x "
              "of the request, at the cheapest pool) x held, not computing (restarts, checkpoints, lost work) x "
              "the jobs' own cheapest option (per EFLOP held)")
        for k in markets:
            a, b = _factors(matched[k]["parts"]), _factors(matched[k]["gpuhour_parts"])
            print(f"    market {k:9s} " + " x ".join(f"{n} {x / y:.3f}" for (n, x), (_, y) in zip(a, b))
                  + f" = {np.prod([x / y for (_, x), (_, y) in zip(a, b)]):.3f}; share of work on grown gangs "
                  f"{matched[k]['parts']['grown'] / matched[k]['parts']['rate']:.2f}")
        dom = [(min(rows[k]["eflop_gpuhour"], rows[k]["usd"]) - 1.0, k) for k in markets
               if rows[k]["eflop_gpuhour"] >= 1.0 and rows[k]["usd"] >= 1.0]
        if dom:
            margin, k = max(dom)
            print(f"  dominates gpuhour: {', '.join(d[1] for d in sorted(dom, key=lambda d: d[1]))}; widest margin "
                  f"{k}: {rows[k]['eflop_gpuhour']:.3f}x its useful EFLOP and {rows[k]['usd']:.3f}x its EFLOP per $ "
                  f"(both at least {margin:+.1%})")
        else:
            print("  dominates gpuhour: no market point")
        ok = [k for k in markets if meets(rows[k])]
        enough = [k for k in markets if rows[k]["eflop"] >= TARGET_EFLOP]
        best = max(enough, key=lambda k: rows[k]["usd"], default=None)
        print(f"  issue targets (EFLOP/$ >= {TARGET_USD}x gpuhour, EFLOP >= best other, JCT <= {TARGET_JCT}x): "
              + (f"met by {', '.join(ok)}" if ok else "MISSED by every point; " + (
                  f"best EFLOP per $ among points with EFLOP >= {ref['best_other']}: {best} at "
                  f"{rows[best]['usd']:.3f}x" if best else f"no point reaches {ref['best_other']}'s EFLOP")))
        caps = capacity_bound(runs, days * 24.0, acc, rows) if bound else []
        sys.stdout.flush()
        per_load.append((load, rows, caps))
    path = write_frontier_html(out, fleet.name, seeds, thetas, per_load)
    print(f"frontier chart: {path}")


def capacity_bound(runs: list, horizon_h: float, acc: dict, rows: dict) -> list[tuple[float, float]]:
    """Print and return (EFLOP vs the best other policy, EFLOP per $ vs gpuhour) of the
    capacity bound (`_thesis_bound`) at gpuhour's useful EFLOP, halfway and at the best
    other policy's (sums over seeds)."""
    from _thesis_bound import min_usd

    ref = rows["gpuhour"]
    best = acc[ref["best_other"]]["eflop"]
    gh = acc["gpuhour"]["eflop"] / acc["gpuhour"]["usd"]
    lo = acc["gpuhour"]["eflop"]
    out = []
    for eflop in (lo, (lo + best) / 2, best):
        usd = min_usd(runs, horizon_h, eflop)
        out.append((eflop / best, eflop / usd / gh))
    print("  capacity bound (no policy paying the asks does better; bench/_thesis_bound.py): EFLOP per $ at most "
          + ", ".join(f"{y:.3f}x gpuhour's at {x:.3f}x {ref['best_other']}'s EFLOP" for x, y in out))
    return out


def write_frontier_html(out: Path, fleet_name: str, seeds: list[int], thetas: list[float],
                        per_load: list[tuple[float, dict]]) -> Path:
    """One chart per load (useful EFLOP vs the best other policy's against EFLOP per $ vs
    gpuhour's; market points joined in θ order, the issue's target region shaded) and a
    table of every point, as one self-contained page (`flopgrid.sim.report.render_html`)."""
    import plotly.graph_objects as go

    from flopgrid.files import write_text_atomic
    from flopgrid.sim.report import Chart, policy_colors, render_html

    colors = policy_colors(["gpuhour", "goodput", "market"])
    charts, table = [], []
    for load, rows, caps in per_load:
        ref = rows["gpuhour"]
        mk = [k for k in rows if k not in ("gpuhour", "goodput")]
        fig = go.Figure()
        fig.add_shape(type="rect", x0=TARGET_EFLOP, x1=max(1.1, *(r["eflop"] for r in rows.values())) + 0.05,
                      y0=TARGET_USD, y1=max(1.35, *(r["usd"] for r in rows.values())) + 0.05,
                      fillcolor="rgba(0,158,115,0.12)", line_width=0, layer="below")
        fig.add_trace(go.Scatter(x=[rows[k]["eflop"] for k in mk], y=[rows[k]["usd"] for k in mk],
                                 mode="lines+markers+text", text=[k for k in mk], textposition="top center",
                                 name="market (buyer time value θ)", line=dict(color=colors["market"]),
                                 hovertemplate="%{text}: EFLOP %{x:.3f}x, EFLOP/$ %{y:.3f}x<extra></extra>"))
        if caps:
            fig.add_trace(go.Scatter(x=[x for x, _ in caps], y=[y for _, y in caps], mode="lines+markers",
                                     name="capacity bound (LP)", line=dict(color="#777777", dash="dash")))
        for p in ("gpuhour", "goodput"):
            fig.add_trace(go.Scatter(x=[rows[p]["eflop"]], y=[rows[p]["usd"]], mode="markers+text", text=[p],
                                     textposition="bottom center", name=p,
                                     marker=dict(color=colors[p], size=12, symbol="diamond")))
        fig.update_layout(title=f"load {load:.1f}: the market's trade-off against gpuhour and goodput",
                          xaxis_title=f"useful EFLOP vs {ref['best_other']} (x)",
                          yaxis_title="useful EFLOP per buyer $ vs gpuhour (x)", height=480,
                          template="plotly_white", legend_title_text="policy")
        charts.append(Chart(fig, f"Load {load:.1f} on {fleet_name}, sums over seeds {', '.join(map(str, seeds))}. "
                                 "Each market point is one buyer time value θ (a delay costs θ x the best surplus "
                                 "per hour: 0 buys the cheapest useful EFLOP, 1 the most surplus per hour). Up and "
                                 "right is better; the shaded region meets the issue's EFLOP-per-$ and EFLOP "
                                 "targets. The dashed line is the capacity bound: no policy that pays at least "
                                 "the asks gets more useful EFLOP per $ for that much useful work (an LP "
                                 "relaxation, bench/_thesis_bound.py)."))
        for label, r in rows.items():
            name = f"market {label}" if label in mk else label
            table.append(f"<tr><th scope=\"row\">{load:.1f}</th><td>{html.escape(name)}</td><td>{r['eflop']:.3f}x"
                         f"</td><td>{r['usd']:.3f}x</td><td>{r['jct']:.3f}x</td><td>{r['jct_h']:.2f}</td></tr>")
    summary = ("<table class=\"summary\"><thead><tr><th>load</th><th>point</th><th>useful EFLOP vs best other</th>"
               "<th>EFLOP per $ vs gpuhour</th><th>mean JCT vs best non-elastic</th><th>mean JCT (h)</th></tr>"
               f"</thead><tbody>{''.join(table)}</tbody></table>")
    page = render_html(f"flopgrid thesis frontier on {fleet_name}",
                       f"market buyer time values θ = {', '.join(f'{t:g}' for t in thetas)}; llm-market demand, "
                       f"seeds {', '.join(map(str, seeds))}; bench/thesis.py --frontier", summary, charts)
    write_text_atomic(out, page, "frontier chart")
    return out


def _recording(cls: type) -> type:
    """`cls` that also records every run segment of every job: (pool, gang, held s, rate FLOP/s)."""
    class Recording(cls):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.segments: dict[int, list[tuple[int, int, float, float]]] = defaultdict(list)

        def on_stop(self, cluster, job) -> None:
            self.segments[job.index].append((job.pool, job.gang, cluster.now - job.seg_start_s, job.rate_flop_s))
            super().on_stop(cluster, job)

    Recording.__name__ = cls.__name__
    return Recording


def _decompose(sim, other, out: dict) -> None:
    """Add the cost parts of the jobs completed in both runs (see `_factors`), from `sim`'s
    recorded segments: USD paid, USD at the asks, FLOPs the segments could compute at their
    rates (EFLOP), and those FLOPs weighted by the segment's, the gang's best and the job's
    best cost per EFLOP at the asks."""
    asks = [p.price_per_chip_hour for p in sim.pools()]

    def cost(job, p, g):  # USD per EFLOP at the ask and the peak rate
        r = sim.rate_flop_s(job, p, g)
        return asks[p] * g / (r * 3600.0 / 1e18) if r > 0 else math.inf

    for a, b in zip(sim.jobs, other.jobs):
        if a.state != "completed" or b.state != "completed":
            continue
        out["work"] += a.work_flop / 1e18
        out["paid"] += a.paid_micro_usd / 1e6
        best = min(cost(a, p, g) for g in gang_options(a.spec.chips, 4) for p in sim.pools_for(a, g))
        for p, g, held_s, rate in sim.policy.segments[a.index]:
            r = rate * held_s / 1e18
            out["ask"] += asks[p] * g * held_s / 3600.0
            out["rate"] += r
            out["gang_best"] += r * min(cost(a, q, g) for q in sim.pools_for(a, g))
            out["job_best"] += r * best
            if g > a.spec.chips:
                out["grown"] += r


def _factors(d: dict) -> list[tuple[str, float]]:
    """$ per useful EFLOP = price/ask x pool x gang x held/computed x the jobs' cheapest option."""
    return [("price", d["paid"] / d["ask"]), ("pool", d["ask"] / d["gang_best"]),
            ("gang", d["gang_best"] / d["job_best"]), ("held", d["rate"] / d["work"]),
            ("cheapest", d["job_best"] / d["rate"])]


def _matched(market, gpuhour, out: dict) -> None:
    """Add the jobs completed under both runs: their EFLOP and USD under each, and the
    ceiling (each job's cheapest useful EFLOP at the asks, see the module docstring)."""
    asks = [p.price_per_chip_hour for p in market.pools()]
    for a, b in zip(market.jobs, gpuhour.jobs):
        if a.state != "completed" or b.state != "completed":
            continue
        eflop = a.work_flop / 1e18
        for key, j in (("market", a), ("gpuhour", b)):
            out[key][0] += eflop
            out[key][1] += j.paid_micro_usd / 1e6
        best = max((eflop_per_hour(market, a, p, g) / (g * asks[p]) for g in gang_options(a.spec.chips, 4)
                    for p in market.pools_for(a, g) if asks[p] > 0), default=0.0)
        if best > 0:
            out["ceiling"][0] += eflop
            out["ceiling"][1] += eflop / best


if __name__ == "__main__":
    main()
