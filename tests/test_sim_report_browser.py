"""The simulate report, opened in headless Debian chromium: every chart has a title and
labelled axes with units, its legend entries are exactly the policies, a policy has one
colour in every chart, there is a summary table and a caption per chart; a screenshot is
taken (a rendered, non-blank page). Skips with a reason where chromium is absent."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest
from conftest import run_flopgrid

from flopgrid.sim.report import policy_colors

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if shutil.os.path.exists("/usr/bin/chromium") else None)
POLICIES = ["fifo", "goodput", "market"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    pytest.importorskip("plotly")
    d = tmp_path_factory.mktemp("report")
    trace = d / "t.csv"
    synth = run_flopgrid("trace", "synth", "--jobs", "80", "--days", "1", "--seed", "3", "--out", str(trace))
    assert synth.returncode == 0, synth.stderr
    p = run_flopgrid("simulate", "--trace", str(trace), "--fleet", "pollux-64", "--compare", ",".join(POLICIES),
                     "--report", str(d / "rep"))
    assert p.returncode == 0, p.stderr
    return d / "rep" / "report.html"


def _chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("chromium not installed (apt-get install chromium): the browser check needs it")
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", *args], capture_output=True, text=True,
                          timeout=120)


def test_policy_colours_are_fixed_per_policy():
    a, b = policy_colors(["market", "fifo"]), policy_colors(["fifo", "las", "market", "custom"])
    assert a["fifo"] == b["fifo"] and a["market"] == b["market"]
    assert len(set(b.values())) == 4


def test_report_structure_in_the_html(report):
    page = report.read_text()
    assert "<h1>flopgrid simulate: 80 jobs on pollux-64</h1>" in page
    assert page.count('<table class="summary">') == 1
    assert all(f"{p}</th>" in page for p in POLICIES)
    charts = page.split('<div id="chart-')[1:]
    assert len(charts) == page.count("<figcaption>") >= 6
    colors = policy_colors(POLICIES)
    placement = [c for c in charts if "Where each class of job ran" in c]  # one heat map per compared policy
    assert len(placement) == 1  # market is among the policies
    for chunk in charts:
        if chunk in placement:
            continue
        for p in POLICIES:  # the same colour for the policy in every chart
            assert re.search(r'"name":"%s".{0,400}?"color":"%s"|"color":"%s".{0,400}?"name":"%s"'
                             % (p, colors[p], colors[p], p), chunk, flags=re.S), p


def test_report_renders_in_chromium_with_labelled_axes_and_policy_legends(report, tmp_path):
    dom = _chromium(tmp_path, "--virtual-time-budget=15000", "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout

    def texts(cls: str) -> list[str]:
        return re.findall(r'class="%s"[^>]*>([^<]*)<' % cls, text)

    titles, xs, ys, legend = texts("gtitle"), texts("xtitle"), texts("ytitle"), texts("legendtext")
    n = len(titles)
    assert n >= 6 and len(xs) == n and len(ys) == n, (titles, xs, ys)
    assert all(t.strip() for t in xs + ys)
    for label in xs + ys:  # units or a unitless quantity stated
        assert re.search(r"\(.+\)|^jobs|^policy|fraction|^pool$|^job class$", label), label
    per_policy = n - titles.count("Where each class of job ran")  # the placement heat map has no legend
    assert legend == POLICIES * per_policy  # legend entries = the policies, in every per-policy chart

    shot = tmp_path / "report.png"
    p = _chromium(tmp_path, "--window-size=1200,3400", f"--screenshot={shot}", report.as_uri())
    assert p.returncode == 0 and shot.is_file(), p.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 3400)
    assert len(data) > 50_000  # a blank page compresses to a few kB
