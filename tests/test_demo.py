"""`flopgrid demo` through the real CLI (a subprocess; the service runs inside it on a loopback
port): the default day once (its table, summary.json, database and report are checked by the
tests below), a short day twice for determinism, bad input, and `--serve`.

Independent truths: the figures are recomputed from the SQLite database with SQL (not the
demo's summary code); the printed ratios are recomputed from the two markets' figures; the
report is opened in headless Debian chromium."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import REPO, assert_bad_input, run_flopgrid

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]  # one worker runs the module's demo days once
KEYS = ["useful_eflop", "fleet_mfu", "buyer_usd", "usd_per_useful_eflop", "provider_revenue_usd", "welfare_usd",
        "ledger_balanced", "allocations_completed", "restarts"]
CHROMIUM = os.environ.get("FLOPGRID_CHROMIUM", "/usr/bin/chromium")
ENV = {"PYTHONPATH": str(REPO / "src"), "COLUMNS": "100"}


@pytest.fixture(scope="module")
def default_day(tmp_path_factory):
    """`flopgrid demo` on its defaults, with the human table."""
    out = tmp_path_factory.mktemp("demo") / "out"
    p = run_flopgrid("demo", "--out", str(out), env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return {"out": out, "stdout": p.stdout, "summary": json.loads((out / "summary.json").read_text())}


@pytest.fixture(scope="module")
def short_days(tmp_path_factory):
    """The same short day twice with the same seed: once --json, once with the table."""
    base = tmp_path_factory.mktemp("demo-short")
    a = run_flopgrid("demo", "--hours", "4", "--seed", "3", "--out", str(base / "a"), "--json", env=ENV, timeout=300)
    b = run_flopgrid("demo", "--hours", "4", "--seed", "3", "--out", str(base / "b"), env=ENV, timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr[-2000:], b.stderr[-2000:])
    return json.loads(a.stdout), json.loads((base / "b" / "summary.json").read_text())


def _figures_from_db(db: Path) -> list[dict]:
    """Per market (oldest first): useful EFLOP of each allocation's latest reading, buyer USD and
    provider revenue from the ledger entries, the transactions' sums, with SQL only."""
    con = sqlite3.connect(db)
    try:
        out = []
        for (mid,) in con.execute("SELECT id FROM markets ORDER BY created_at, id").fetchall():
            eflop = 0.0
            for (body,) in con.execute(
                    "SELECT r.body FROM readings r JOIN allocations a ON a.id = r.allocation_id WHERE a.market_id = ? "
                    "AND r.id = (SELECT MAX(r2.id) FROM readings r2 WHERE r2.allocation_id = a.id)", (mid,)):
                eflop += json.loads(body)["useful_eflop"]
            entries = con.execute("SELECT e.account, e.amount_micro_usd, e.transaction_id FROM ledger_entries e "
                                  "JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.market_id = ?",
                                  (mid,)).fetchall()
            tx_sums: dict[int, int] = {}
            for _, amount, tx in entries:
                tx_sums[tx] = tx_sums.get(tx, 0) + amount
            allocs = con.execute("SELECT COUNT(*) FROM allocations WHERE market_id = ?", (mid,)).fetchone()[0]
            out.append({"market": mid, "useful_eflop": eflop, "allocations": allocs, "tx_sums": tx_sums,
                        "buyer_micro": -sum(a for acc, a, _ in entries if acc.startswith("buyer:")),
                        "provider_micro": sum(a for acc, a, _ in entries if acc.startswith("provider:")),
                        "total_micro": sum(a for _, a, _ in entries)})
        return out
    finally:
        con.close()


def test_default_day_balances_and_its_figures_are_recomputed_from_the_database(default_day):
    s = default_day["summary"]
    assert list(s) == [*KEYS, "baseline", "db", "wall_seconds"] and list(s["baseline"]) == KEYS
    db = Path(s["db"])
    assert db == default_day["out"] / "demo.db" and db.is_file()
    flopgrid, gpuhour = _figures_from_db(db)
    for fig, truth in ((s, flopgrid), (s["baseline"], gpuhour)):
        assert fig["ledger_balanced"] is True
        assert truth["tx_sums"] and all(v == 0 for v in truth["tx_sums"].values()) and truth["total_micro"] == 0
        assert fig["useful_eflop"] == pytest.approx(truth["useful_eflop"], rel=1e-12) and truth["useful_eflop"] > 0
        assert round(fig["buyer_usd"] * 1e6) == truth["buyer_micro"] > 0
        assert round(fig["provider_revenue_usd"] * 1e6) == truth["provider_micro"]
        assert fig["usd_per_useful_eflop"] == pytest.approx(truth["buyer_micro"] / 1e6 / truth["useful_eflop"])
        assert 0 < fig["allocations_completed"] <= truth["allocations"]
        assert 0 < fig["fleet_mfu"] < 1


def test_default_day_flopgrid_delivers_more_useful_eflop_per_buyer_dollar(default_day):
    s = default_day["summary"]
    flopgrid = s["useful_eflop"] / s["buyer_usd"]
    gpuhour = s["baseline"]["useful_eflop"] / s["baseline"]["buyer_usd"]
    assert flopgrid > gpuhour, (flopgrid, gpuhour)
    assert s["useful_eflop"] > s["baseline"]["useful_eflop"] and s["welfare_usd"] > s["baseline"]["welfare_usd"]


def _row(stdout: str, label: str) -> list[str]:
    line = next(ln for ln in stdout.splitlines() if ln.strip().startswith(label + " "))
    return line.split()[len(label.split()):]


def test_printed_ratios_are_the_two_markets_figures_divided(default_day):
    s, out = default_day["summary"], default_day["stdout"]
    b = s["baseline"]
    for label, key, digits in (("useful EFLOP", "useful_eflop", 1), ("buyer USD", "buyer_usd", 2),
                               ("buyer USD per useful EFLOP", "usd_per_useful_eflop", 4),
                               ("welfare USD", "welfare_usd", 2)):
        fg, gh, ratio = _row(out, label)
        assert float(fg.replace(",", "")) == pytest.approx(s[key], abs=10 ** -digits)
        assert float(gh.replace(",", "")) == pytest.approx(b[key], abs=10 ** -digits)
        assert float(ratio.rstrip("x")) == pytest.approx(s[key] / b[key], abs=1e-3)
    fg, gh, ratio = _row(out, "useful EFLOP per buyer USD")
    assert float(ratio.rstrip("x")) == pytest.approx(s["useful_eflop"] / s["buyer_usd"] /
                                                     (b["useful_eflop"] / b["buyer_usd"]), abs=1e-3)
    assert _row(out, "ledger balanced") == ["True", "True"]
    assert f"report: {default_day['out'] / 'report.html'}" in out.replace("\n", "")


def test_same_seed_gives_the_same_numbers(short_days):
    a, b = short_days
    for d in (a, b):
        d.pop("db"), d.pop("wall_seconds")
    assert a == b
    assert list(a) == [*KEYS, "baseline"] and a["ledger_balanced"] and a["baseline"]["ledger_balanced"]


def test_the_report_draws_every_chart_in_headless_chromium(default_day, tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium; or set FLOPGRID_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    report = default_day["out"] / "report.html"
    page_html = report.read_text()
    n = page_html.count("<figure>")
    assert n == 5
    for title in ("Prices per pool and interval", "Allocations over time", "Where each class of job ran",
                  "Useful work per buyer dollar", "The ledger"):
        assert title in page_html
    errors, foreign = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(report.as_uri(), wait_until="load")
            drawn = []
            for i in range(1, n + 1):
                page.wait_for_selector(f"#chart-{i} .cartesianlayer :is(g.trace, image)", timeout=30_000)
                # every trace drawn: a line or bar trace is a g.trace, a heat map an image
                drawn.append(page.evaluate(
                    f"() => {{ const g = document.getElementById('chart-{i}');"
                    f" return [g.data.length, g.querySelectorAll('.cartesianlayer g.trace, .heatmaplayer image').length];"
                    f" }}"))
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert all(traces == marks >= 2 for traces, marks in drawn), drawn  # two markets in every chart
    assert shot.stat().st_size > 50_000 and errors == [] and foreign == []


@pytest.mark.parametrize("args, needle", [
    (["--hours", "0"], "--hours must be between 1 and 48, got 0"),
    (["--engine", "gpu"], "--engine 'gpu': use one of sim, ray"),
    (["--inject-failure"], "--inject-failure kills a Ray worker: give it with --engine ray"),
    (["--seed", "-1"], "--seed must be between 0 and 4294967295, got -1"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path):
    p = run_flopgrid("demo", "--out", str(tmp_path / "o"), *args, env=ENV, timeout=60)
    assert_bad_input(p, needle)
    assert not (tmp_path / "o").exists()


def test_serve_keeps_the_service_up_with_the_dashboard_until_ctrl_c(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "flopgrid", "demo", "--hours", "2", "--out", str(out), "--serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 180
        while not any(ln.startswith("operator key:") for ln in lines):
            assert proc.poll() is None and time.time() < deadline, "".join(lines)[-3000:]
            time.sleep(0.2)
        url = re.search(r"serving (http://127\.0\.0\.1:\d+)", "".join(lines)).group(1)
        key = next(ln for ln in lines if ln.startswith("operator key:")).split(":", 1)[1].strip()
        assert httpx.get(url + "/healthz", timeout=10).status_code == 200
        dash = httpx.get(url + "/", timeout=30)
        assert dash.status_code == 200 and "statement totals" in dash.text
        markets = httpx.get(url + "/v1/markets", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
        assert [m["status"] for m in markets] == ["settled", "settled"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert math.isfinite(json.loads((out / "summary.json").read_text())["useful_eflop"])
