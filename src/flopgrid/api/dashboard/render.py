"""Server-rendered dashboard HTML; plotly.js comes from the app (`/static/plotly.min.js`), never a CDN."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from flopgrid.api.dashboard.data import DashboardData

REFRESH_S = 15


def _js(value: Any) -> str:
    return json.dumps(value).replace("</", "<\\/")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures(d: DashboardData) -> dict[str, Any]:
    figs: dict[str, Any] = {}
    if d.heat:
        figs["heatmap"] = {"data": [{"type": "heatmap", "z": d.heat["z"], "x": d.heat["intervals"], "y": d.heat["pools"],
                                     "colorscale": "Viridis", "colorbar": {"title": {"text": "$/chip-h"}}}],
                           "layout": {"title": {"text": "price per pool and interval (USD per chip-hour)"},
                                      "xaxis": {"title": {"text": "interval"}, "dtick": 1}, "margin": {"l": 120}}}
    if d.gantt:
        rows = sorted(d.gantt, key=lambda g: (g["pool"], g["start"], g["bid"]))
        figs["gantt"] = {"data": [{"type": "bar", "orientation": "h", "y": [f"{g['pool']} | {g['bid']}" for g in rows],
                                   "x": [g["intervals"] for g in rows], "base": [g["start"] for g in rows],
                                   "text": [f"{g['chips']} chips" for g in rows],
                                   "hovertext": [f"{g['bid']}: {g['chips']} chips, ${g['pay_usd']:,.2f}" for g in rows],
                                   "marker": {"color": [sorted({g["pool"] for g in rows}).index(g["pool"]) for g in rows],
                                              "colorscale": "Turbo"}}],
                         "layout": {"title": {"text": "cleared allocations (pool | bid)"}, "barmode": "overlay",
                                    "height": max(300, 22 * len(rows) + 120),
                                    "xaxis": {"title": {"text": "interval"}, "dtick": 1},
                                    "yaxis": {"autorange": "reversed"}, "margin": {"l": 200}}}
    return figs


def render(d: DashboardData) -> str:
    m = d.market
    title = f"market {m['id']} ({m['kind']}, {m['status']})" if m else "no market yet"
    gap = "n/a" if not m or m["gap"] is None else f"{100 * m['gap']:.3g}%"
    welfare = "n/a" if not m or m["welfare_usd"] is None else f"${m['welfare_usd']:,.2f}"
    mfu = "n/a" if d.fleet_mfu is None else f"{100 * d.fleet_mfu:.1f}%"
    figs = _figures(d)
    parts = [
        f"<h1>flopgrid &mdash; {escape(title)}</h1>",
        (f"<p class='kpi'>solver {escape(str(m['solver_status'] if m else 'n/a'))}, gap {gap}, welfare {welfare} &middot; "
        f"useful EFLOP metered {d.useful_eflop:,.1f} ({d.readings} readings) &middot; fleet MFU {mfu}</p>"),
        f"<p class='reason'>{escape(m['reason'])}</p>" if m and m.get("reason") else "",
        "<nav>markets: " + " ".join(f"<a href='/?market={escape(x['id'])}'>{escape(x['id'])}</a> ({escape(x['status'])})"
                                    for x in d.markets) + "</nav>",
        "<div id='heatmap' class='fig'></div>" if "heatmap" in figs else "<p>no prices published yet</p>",
        "<div id='gantt' class='fig'></div>" if "gantt" in figs else "<p>no allocations yet</p>",
        "<h2>unserved bids</h2>" + _table(["bid", "reason"], [[u["bid"], u["reason"]] for u in d.unserved]),
        "<h2>statement totals (USD; + receives, - pays)</h2>" + _table(["account", "net"],
                                                                       [[a, f"{v:,.2f}"] for a, v in d.balances]),
        "<h2>pools and offers</h2>" + _table(
            ["pool", "provider", "hardware", "chips", "offer ($/chip-h x chips)"],
            [[p["id"], p["provider"], p["hardware"], p["chips"],
              ", ".join(f"{s['price_per_chip_hour']:.2f} x {s['chips']}" for s in p["offer"])] for p in d.pools]),
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flopgrid dashboard</title>
<link rel="icon" href="data:,">
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;color:#222}} table{{border-collapse:collapse;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:left}} .fig{{width:100%;min-height:420px}}
.kpi{{font-size:15px}} .reason{{color:#a00}}</style>
<script src="/static/plotly.min.js"></script></head>
<body>{"".join(parts)}
<script>
const figs = {_js(figs)};
for (const [id, f] of Object.entries(figs)) {{ Plotly.newPlot(id, f.data, f.layout, {{responsive: true}}); }}
setTimeout(() => location.reload(), {REFRESH_S * 1000});
</script></body></html>"""
