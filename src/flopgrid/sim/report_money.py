"""Money panels of `simulate --report` (issue 11): useful EFLOP per buyer dollar per policy,
and where each class of job ran (chip-hours by pool, mean MFU) under `market` vs `gpuhour`.
Jobs are grouped by their trace's `job_class`, else by gang size (1, 2-8, 9-64, 65+ chips).
Inserted into the report written by `report.write_report` (same file, same plotly.js)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
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


def money_html(runs: list[tuple[dict[str, Any], Simulation]]) -> str:
    """An HTML fragment (plotly divs, no plotly.js: the report already embeds it)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [m["policy"] for m, _ in runs]
    per_usd = [m["useful_eflop"] / m["buyer_usd"] if m["buyer_usd"] else 0.0 for m, _ in runs]
    fig = go.Figure(go.Bar(x=names, y=per_usd, text=[f"{v:.3f}" for v in per_usd], textposition="outside"))
    fig.update_layout(title="useful EFLOP per buyer dollar", yaxis_title="useful EFLOP / USD", height=420)
    parts = [fig.to_html(full_html=False, include_plotlyjs=False)]
    compared = [(m, s) for m, s in runs if m["policy"] in COMPARED]
    if compared:
        pools = [p.id for p in compared[0][1].fleet.pools]
        place = {m["policy"]: placement(s) for m, s in compared}
        groups = sorted({g for pl in place.values() for g in pl})
        fig2 = make_subplots(rows=1, cols=len(compared), subplot_titles=[f"{m['policy']}: share of chip-hours"
                                                                         for m, _ in compared])
        for k, (m, _) in enumerate(compared, start=1):
            pl = place[m["policy"]]
            z = [[pl.get(g, {}).get(p, (0.0, 0.0))[0] for p in pools] for g in groups]
            text = [[(f"{pl[g][p][0]:.0%}<br>MFU {pl[g][p][1]:.0%}" if p in pl.get(g, {}) else "") for p in pools]
                    for g in groups]
            fig2.add_trace(go.Heatmap(z=z, x=pools, y=groups, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                                      colorscale="Blues", showscale=k == len(compared)), 1, k)
        fig2.update_layout(title="where each class of job ran (share of its chip-hours by pool, mean MFU there)",
                           height=120 + 70 * len(groups))
        parts.append(fig2.to_html(full_html=False, include_plotlyjs=False))
    return "\n".join(parts)


def add_money_panels(runs: list[tuple[dict[str, Any], Simulation]], path: Path) -> None:
    """Insert the money panels before the end of the report's body."""
    html = path.read_text()
    frag = f"<h2>money</h2>\n{money_html(runs)}\n"
    html = html.replace("</body>", frag + "</body>", 1) if "</body>" in html else html + frag
    path.write_text(html)
