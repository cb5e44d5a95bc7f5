"""Money panels of `simulate --report` (issue 11): useful EFLOP per buyer dollar per policy,
and where each class of job ran (chip-hours by pool, mean MFU) under `market` vs `gpuhour`.
Jobs are grouped by their trace's `job_class`, else by gang size (1, 2-8, 9-64, 65+ chips).
Charts of the report written by `report.write_report` (`report.charts` appends them)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flopgrid.sim.engine import Simulation

COMPARED = ("market", "gpuhour")


def job_group(spec: Any) -> str:
    if spec.job_class:
        return spec.job_class
    g = spec.chips
    return "1 chip" if g == 1 else "2-8 chips" if g <= 8 else "9-64 chips" if g <= 64 else "65+ chips"


def placement(sim: Simulation) -> dict[str, dict[str, tuple[float, float]]]:
    """class -> pool id -> (share of the class's chip-hours, chip-hour-weighted mean MFU there)."""
    held: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    mfu_w: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for j in sim.jobs:
        grp = job_group(j.spec)
        for p, chip_s in j.held_chip_s_by_pool.items():
            held[grp][p] += chip_s
            mfu_w[grp][p] += chip_s * sim.rates.mfu(j.spec.model, p, j.gang if j.pool == p else j.spec.chips)
    ids = [p.id for p in sim.fleet.pools]
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for grp, by_pool in held.items():
        total = sum(by_pool.values()) or 1.0
        out[grp] = {ids[p]: (s / total, mfu_w[grp][p] / s if s else 0.0) for p, s in sorted(by_pool.items())}
    return out


def money_charts(runs: list[tuple[dict[str, Any], Simulation]], colors: dict[str, str]) -> list[Any]:
    """The money charts: useful EFLOP per buyer dollar per policy, and (with market and gpuhour
    among the runs) where each class of job ran under each."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from flopgrid.sim.report import Chart, bar_chart

    per_usd = {m["policy"]: (m["useful_eflop"] / m["buyer_usd"] if m["buyer_usd"] else 0.0) for m, _ in runs}
    out = [bar_chart(per_usd, colors, "Useful work per buyer dollar", "useful work (EFLOP per USD)",
                     "Useful EFLOP delivered divided by what buyers paid (the posted price under fifo, backfill, "
                     "las and goodput; clearing prices under market and gpuhour). Higher is better.")]
    compared = [(m, s) for m, s in runs if m["policy"] in COMPARED]
    if compared:
        pools = [p.id for p in compared[0][1].fleet.pools]
        place = {m["policy"]: placement(s) for m, s in compared}
        groups = sorted({g for pl in place.values() for g in pl})
        fig = make_subplots(rows=1, cols=len(compared), subplot_titles=[f"{m['policy']}: share of chip-hours"
                                                                        for m, _ in compared])
        for k, (m, _) in enumerate(compared, start=1):
            pl = place[m["policy"]]
            z = [[pl.get(g, {}).get(p, (0.0, 0.0))[0] for p in pools] for g in groups]
            text = [[(f"{pl[g][p][0]:.0%}<br>MFU {pl[g][p][1]:.0%}" if p in pl.get(g, {}) else "") for p in pools]
                    for g in groups]
            fig.add_trace(go.Heatmap(z=z, x=pools, y=groups, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                                     colorscale="Blues", showscale=k == len(compared), name=m["policy"],
                                     colorbar=dict(title="share")), 1, k)
            fig.update_xaxes(title_text="pool", row=1, col=k)
        fig.update_yaxes(title_text="job class", row=1, col=1)
        fig.update_layout(title="Where each class of job ran", height=160 + 70 * len(groups),
                          template="plotly_white", showlegend=False)
        out.append(Chart(fig, "Share of each job class's chip-hours by pool, and the mean MFU it reached there, "
                              "under the useful-FLOP market and the GPU-hour market."))
    return out
