"""The dashboard in headless Debian chromium (Playwright for Python): a screenshot is written,
the price heat map and the allocation Gantt chart render with data, no console errors, and
plotly.js comes from the app itself (no other origin is contacted)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from service_support import ServerProcess, auth, create_key, gate_in, make_db, small_bid, small_pool

CHROMIUM = os.environ.get("FLOPGRID_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dash")
    db = make_db("sqlite", None, tmp)
    op, prov = create_key(db, "operator", "op"), create_key(db, "provider", "p1")
    buyers = {n: create_key(db, "buyer", n) for n in ("b1", "b2")}
    srv = ServerProcess(db, tmp / "server.log").start()
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for pid, price in (("pool-a", 1.5), ("pool-b", 2.5)):
            assert c.post("/v1/pools", json=small_pool(pid, "p1", chips=16, price=price), headers=auth(prov)).status_code == 201
        mid = c.post("/v1/markets", json={"horizon": {"intervals": 4}, "gate_closure_at": gate_in(3600)},
                     headers=auth(op)).json()["id"]
        for i in range(7):  # bid-6 bids below every offer: unserved
            b = "b1" if i % 2 else "b2"
            body = {**small_bid(f"bid-{i}", b, chips=8, price=3.0 + i if i < 6 else 0.5), "market": mid}
            assert c.post("/v1/bids", json=body, headers=auth(buyers[b])).status_code == 201
        assert c.post(f"/v1/markets/{mid}/clear", headers=auth(op)).status_code == 202
        while c.get(f"/v1/markets/{mid}", headers=auth(op)).json()["status"] == "clearing":
            time.sleep(0.1)
        for a in c.get("/v1/allocations", headers=auth(op)).json():
            r = c.post(f"/v1/allocations/{a['id']}/readings", json={"useful_eflop": 0.5 * (a["useful_eflop"] or 1)},
                       headers=auth(buyers[a["buyer"]]))
            assert r.status_code == 201
        assert c.post(f"/v1/markets/{mid}/settle", headers=auth(op)).status_code == 200
    yield srv, tmp
    srv.stop()


def test_dashboard_html_is_self_contained(served):
    srv, _ = served
    html = httpx.get(srv.url + "/").text
    assert '<script src="/static/plotly.min.js">' in html and "cdn" not in html.lower()
    js = httpx.get(srv.url + "/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert "unserved bids" in html and "statement totals" in html and "fleet MFU" in html
    unserved = html.split("unserved bids", 1)[1].split("statement totals", 1)[0]
    assert "bid-6" in unserved and "bid-5" not in unserved


def test_dashboard_renders_in_headless_chromium(served):
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium; or set FLOPGRID_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    srv, tmp = served
    errors, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((srv.url, "data:")) else None)
            page.goto(srv.url + "/", wait_until="networkidle")
            page.wait_for_selector("#heatmap .main-svg", timeout=20_000)
            page.wait_for_selector("#gantt .main-svg", timeout=20_000)
            heat = page.evaluate("() => document.getElementById('heatmap').data[0].z.flat().filter(v => v !== null).length")
            bars = page.evaluate("() => document.getElementById('gantt').data[0].x.length")
            drawn = page.evaluate("() => document.querySelectorAll('#gantt .bars path').length")
            shot = tmp / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert heat >= 4 and bars >= 1 and drawn >= bars
    assert shot.stat().st_size > 20_000
    assert errors == [] and foreign == []
