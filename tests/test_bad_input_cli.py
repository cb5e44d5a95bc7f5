"""One error path for every command, through the real CLI: each class of bad input is one
line on stderr, exit code 2 (130 for Ctrl-C), no traceback, and no file left behind or
changed. Classes: non-UTF-8 and malformed input files, seeds, absurd sizes, ports, output
paths that cannot be written, a full disk (RLIMIT_FSIZE: the kernel refuses the write
for real), SIGINT, benchmarks in a clone without ../shared. Files are generated once per
module (fixtures) to keep this fast."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, assert_bad_input, run_flopgrid

NOT_UTF8 = b'\xff\xfe{"n_layers": 2}\n'


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """Valid inputs, made once: a trace, a scenario, its clear result, a delivery."""
    d = tmp_path_factory.mktemp("good")
    files = {"trace": d / "trace.csv", "scenario": d / "s.json", "result": d / "r.json", "delivery": d / "d.json"}
    assert run_flopgrid("trace", "synth", "--jobs", "40", "--days", "1", "--out", str(files["trace"])).returncode == 0
    assert run_flopgrid("scenario", "generate", "--pools", "3", "--bids", "6", "--intervals", "4", "--seed", "2",
                        "--out", str(files["scenario"])).returncode == 0
    assert run_flopgrid("clear", str(files["scenario"]), "--out", str(files["result"]), "--json").returncode == 0
    files["delivery"].write_text('{"allocations": []}')
    files["log"] = d / "run.jsonl"  # a metered run's event log, in the meter's format
    events = [{"event": "start", "t": 0.0, "run": "run", "world_size": 1, "hardware": "h100-sxm", "device": "cuda",
               "dtype": "bf16", "peak_flops_per_chip": 989e12, "peak_source": "catalog", "model": "gpt2-124m",
               "model_flops_per_token": 1e9, "hardware_flops_per_token": 1e9, "recompute": "none"}]
    events += [{"event": "step", "step": i, "t0": 1.0 + i, "data_s": 0.01, "compute_s": 0.9, "tokens": 1024,
                "t": 2.0 + i} for i in range(3)]
    files["log"].write_text("".join(json.dumps({**e, "rank": 0, "session": "s"}) + "\n" for e in events))
    return files


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden temp files included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_in(folder: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    """Run the CLI and check it left `folder` exactly as it was."""
    before = snapshot(folder)
    proc = run_flopgrid(*args, **kw)
    assert snapshot(folder) == before, f"files changed: {set(snapshot(folder)) ^ set(before)}"
    return proc


# --- input files that are not UTF-8 text, or not what they claim to be ------------------

NON_UTF8_CASES = {
    "model": lambda b, g: ("mfu", str(b / "bad.json"), "--hardware", "h100", "--chips", "8",
                           "--tokens-per-second", "1"),
    "model-yaml": lambda b, g: ("mfu", str(b / "bad.yaml"), "--hardware", "h100", "--chips", "8",
                                "--tokens-per-second", "1"),
    "cluster": lambda b, g: ("predict", "llama3-8b", "--hardware", "h100", "--chips", "8", "--global-batch-tokens",
                             "65536", "--tp", "8", "--pp", "1", "--dp", "1", "--cluster", str(b / "bad.json")),
    "scenario": lambda b, g: ("clear", str(b / "bad.json")),
    "settle-scenario": lambda b, g: ("settle", str(b / "bad.json"), str(g["result"]), str(g["delivery"])),
    "settle-result": lambda b, g: ("settle", str(g["scenario"]), str(b / "bad.json"), str(g["delivery"])),
    "settle-delivery": lambda b, g: ("settle", str(g["scenario"]), str(g["result"]), str(b / "bad.json")),
    "trace": lambda b, g: ("simulate", "--trace", str(b / "bad.csv"), "--fleet", "pollux-64"),
    "fleet": lambda b, g: ("simulate", "--trace", str(g["trace"]), "--fleet", str(b / "bad.json")),
}


@pytest.mark.parametrize("case", list(NON_UTF8_CASES))
def test_non_utf8_input_file_is_one_line(case, good, tmp_path):
    for name in ("bad.json", "bad.yaml", "bad.csv"):
        (tmp_path / name).write_bytes(NOT_UTF8)
    proc = run_in(tmp_path, *NON_UTF8_CASES[case](tmp_path, good))
    assert_bad_input(proc, "not UTF-8", "bad.")


def test_non_utf8_meter_log_is_one_line(tmp_path):
    (tmp_path / "run.jsonl").write_bytes(NOT_UTF8 * 3)
    assert_bad_input(run_in(tmp_path, "meter", "report", str(tmp_path / "run.jsonl")), "run.jsonl")


@pytest.mark.parametrize("content, needle", [
    (b'{"horizon": {"intervals": 4', "not valid JSON"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b"[1, 2]", "must hold a JSON/YAML object"),
    (b"", "not valid JSON"),
])
def test_malformed_scenario_is_one_line(tmp_path, content, needle):
    (tmp_path / "s.json").write_bytes(content)
    assert_bad_input(run_in(tmp_path, "clear", str(tmp_path / "s.json")), needle)


def test_trace_with_nul_bytes_and_a_directory_as_input(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"submit_s,chips,duration_s\n0,1,\x0010\n")
    assert_bad_input(run_in(tmp_path, "simulate", "--trace", str(tmp_path / "t.csv"), "--fleet", "pollux-64"), "NUL")
    (tmp_path / "dir.json").mkdir()
    assert_bad_input(run_in(tmp_path, "clear", str(tmp_path / "dir.json")), "is a directory")


# --- seeds and sizes -----------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("trace", "synth", "--jobs", "5", "--seed", "-1", "--out", "{d}/x.csv"),
    ("trace", "synth", "--jobs", "5", "--seed", "4294967296", "--out", "{d}/x.csv"),
    ("scenario", "generate", "--seed", "-3", "--out", "{d}/s.json"),
    ("simulate", "--trace", "{trace}", "--fleet", "pollux-64", "--seed", "-1"),
])
def test_seed_out_of_range(args, good, tmp_path):
    args = [a.format(d=tmp_path, trace=good["trace"]) for a in args]
    assert_bad_input(run_in(tmp_path, *args), "--seed", "0 to 4,294,967,295")


@pytest.mark.parametrize("args, needles", [
    (("trace", "synth", "--jobs", "100000000", "--out", "{d}/x.csv"), ("--jobs", "5,000,000")),
    (("trace", "synth", "--jobs", "10^8", "--out", "{d}/x.csv"), ("--jobs", "10^8")),
    (("trace", "synth", "--jobs", "10", "--days", "inf", "--out", "{d}/x.csv"), ("--days", "inf")),
    (("trace", "synth", "--jobs", "10", "--days", "1e9", "--out", "{d}/x.csv"), ("--days", "3650")),
    (("trace", "synth", "--jobs", "10", "--days", "1e-9", "--out", "{d}/x.csv"), ("--days", "0.01")),
    (("scenario", "generate", "--pools", "100000000", "--out", "{d}/s.json"), ("--pools", "100,000")),
    (("scenario", "generate", "--intervals", "1000000", "--out", "{d}/s.json"), ("--intervals", "10,000")),
    (("peak", "--measure", "--size", "1000000"), ("--size", "16,384")),
])
def test_absurd_sizes_are_bounded(args, needles, tmp_path):
    args = [a.format(d=tmp_path) for a in args]
    assert_bad_input(run_in(tmp_path, *args, timeout=60), *needles)


def test_a_fleet_of_8e9_chips_is_bounded(good, tmp_path):
    fleet = tmp_path / "f.json"
    fleet.write_text(json.dumps({"pools": [{"id": "huge", "hardware": "h100", "chips": 8_000_000_000}]}))
    assert_bad_input(run_in(tmp_path, "simulate", "--trace", str(good["trace"]), "--fleet", str(fleet), timeout=60),
                     "4194304")
    fleet.write_text(json.dumps({"pools": [{"id": f"p{i}", "hardware": "h100", "chips": 4_000_000} for i in range(3)]}))
    assert_bad_input(run_in(tmp_path, "simulate", "--trace", str(good["trace"]), "--fleet", str(fleet), timeout=60),
                     "12,000,000 chips", "4,194,304")


# --- ports -----------------------------------------------------------------------------------

@pytest.mark.parametrize("port", ["0", "70000", "-5"])
def test_out_of_range_port(port, tmp_path):
    assert_bad_input(run_in(tmp_path, "meter", "demo", "--steps", "1", "--out", str(tmp_path / "r.jsonl"),
                            "--prometheus-port", port), "--prometheus-port", "65,535")


def test_port_in_use_touches_nothing(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("prometheus_client")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        (tmp_path / "r.jsonl").write_text("precious\n")
        (tmp_path / "r.ckpt.pt").write_bytes(b"precious")
        proc = run_in(tmp_path, "meter", "demo", "--steps", "1", "--out", str(tmp_path / "r.jsonl"),
                      "--prometheus-port", str(port), env={"FLOPGRID_CACHE_DIR": str(tmp_path / "cache")})
    assert_bad_input(proc, f"127.0.0.1:{port}", "in use")


# --- outputs ---------------------------------------------------------------------------------

def test_unwritable_output_paths(good, tmp_path):
    (tmp_path / "afile").write_text("precious")
    missing = tmp_path / "missing" / "x"
    cases = [
        ("trace", "synth", "--jobs", "5", "--out", f"{missing}.csv"),
        ("trace", "synth", "--jobs", "5", "--out", str(tmp_path)),
        ("scenario", "generate", "--out", f"{missing}.json"),
        ("clear", str(good["scenario"]), "--out", f"{missing}.json"),
        ("simulate", "--trace", str(good["trace"]), "--fleet", "pollux-64", "--report", str(tmp_path / "afile" / "r")),
        ("meter", "report", str(good["log"]), "--plot", f"{missing}.html"),
    ]
    for args in cases:
        assert_bad_input(run_in(tmp_path, *args), "cannot")


def _file_size_limit(limit_bytes: int):
    def limit() -> None:  # in the child: a write past the limit fails with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return limit


def _run_limited(limit_bytes: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flopgrid", *args], capture_output=True, text=True, timeout=300,
                          preexec_fn=_file_size_limit(limit_bytes), env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def test_full_disk_leaves_no_half_written_trace_or_report(good, tmp_path):
    out = tmp_path / "trace.csv"
    out.write_text("precious")
    before = snapshot(tmp_path)
    proc = _run_limited(64 * 1024, "trace", "synth", "--jobs", "20000", "--out", str(out))
    assert_bad_input(proc, "cannot write", "File too large")
    assert snapshot(tmp_path) == before  # the old file kept, no temp file left
    proc = _run_limited(1024 * 1024, "simulate", "--trace", str(good["trace"]), "--fleet", "pollux-64",
                        "--report", str(tmp_path / "rep"))
    assert_bad_input(proc, "cannot write", "report.html")
    assert snapshot(tmp_path) == before and not (tmp_path / "rep").exists()


# --- Ctrl-C ----------------------------------------------------------------------------------

def _interrupt_when(args: list[str], ready, timeout_s: float = 120, env: dict | None = None
                    ) -> subprocess.CompletedProcess:
    """Start the CLI, send SIGINT once `ready()` is true, return the finished process."""
    p = subprocess.Popen([sys.executable, "-m", "flopgrid", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout_s
    while not ready(p) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert p.poll() is None, "the command finished before it could be interrupted: make it longer"
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _assert_interrupted(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.strip()] == ["flopgrid: interrupted"]


def test_interrupt_raised_inside_string_evaluated_code_still_exits_130(tmp_path):
    """A Ctrl-C that lands in exec'd code (dataclass methods, torch's generated code) made
    `python -m` die of SIGINT (-2) after printing the line (CI saw it during meter demo)."""
    (tmp_path / "interrupted_in_exec.py").write_text(
        "from flopgrid.cli.main import _interrupted\n"
        "try:\n    exec('raise KeyboardInterrupt')\nexcept KeyboardInterrupt:\n    _interrupted()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "interrupted_in_exec"], capture_output=True, text=True, env=env,
                          timeout=60)
    _assert_interrupted(proc)


def test_sigint_during_trace_synth_exits_130_and_leaves_no_file(tmp_path):
    out = tmp_path / "big.csv"
    proc = _interrupt_when(["trace", "synth", "--jobs", "600000", "--out", str(out)],
                           lambda p: any(tmp_path.glob(".big.csv.*")))  # interrupted mid-write
    _assert_interrupted(proc)
    assert list(tmp_path.iterdir()) == []


def _loaded(p: subprocess.Popen, library: str) -> bool:
    try:
        return library in Path(f"/proc/{p.pid}/maps").read_text()
    except OSError:
        return False


_FIRST_SEEN: dict[int, float] = {}


def _settled(p: subprocess.Popen) -> bool:
    """True half a second after the first call for this process (the import has finished)."""
    t0 = _FIRST_SEEN.setdefault(p.pid, time.monotonic())
    return time.monotonic() - t0 > 0.5


def test_sigint_during_simulate_exits_130_and_writes_no_report(tmp_path):
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc to see when the simulation runs")
    trace = tmp_path / "t.csv"
    assert run_flopgrid("trace", "synth", "--jobs", "100000", "--days", "7", "--out", str(trace)).returncode == 0
    # numpy is loaded once the CLI has parsed its arguments; half a second later the (many seconds
    # long) simulation of 100k jobs under five policies is under way
    proc = _interrupt_when(["simulate", "--trace", str(trace), "--fleet", "philly-like", "--compare",
                            "market,fifo,backfill,las,goodput", "--report", str(tmp_path / "rep")],
                           lambda p: _loaded(p, "_multiarray_umath") and _settled(p))
    _assert_interrupted(proc)
    assert not (tmp_path / "rep").exists()


def test_sigint_during_meter_demo_exits_130(tmp_path):
    pytest.importorskip("torch")
    log = tmp_path / "run.jsonl"
    proc = _interrupt_when(["meter", "demo", "--steps", "100000", "--out", str(log)],
                           lambda p: log.exists() and log.stat().st_size > 0,
                           env={"FLOPGRID_CACHE_DIR": str(tmp_path / "cache")})  # its CPU peak stays here
    _assert_interrupted(proc)  # the log stays: it is append-only and a killed run resumes from it


# --- help and tables at 80 columns -----------------------------------------------------------

def test_help_shows_whole_option_names_at_80_columns():
    proc = run_flopgrid("mfu", "--help", env={"COLUMNS": "80"})
    assert proc.returncode == 0
    assert "--tokens-per-second-per-chip" in proc.stdout and "palm-partial" in proc.stdout
    assert "…" not in proc.stdout and max(len(line) for line in proc.stdout.splitlines()) <= 80


def test_wide_tables_split_instead_of_cutting_digits():
    from io import StringIO

    from rich.console import Console

    from flopgrid.cli.output import compact_table, print_table

    t = compact_table("wide", ["policy", *(f"c{i}" for i in range(12))], caption="units")
    values = [f"{1234567.891 * (i + 1):,.2f}" for i in range(12)]
    t.add_row("market", *values)
    buf = StringIO()
    print_table(t, Console(file=buf, width=80))
    text = buf.getvalue()
    assert "…" not in text and all(v in text for v in values)
    assert max(len(line) for line in text.splitlines()) <= 80 and text.count("market") >= 2


# --- benchmarks in a clone without ../shared -------------------------------------------------

@pytest.mark.parametrize("script", ["perf_calibrate.py", "sim_speed.py"])
def test_bench_scripts_skip_without_shared(script, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLOPGRID_SHARED": str(tmp_path / "absent")})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("skipped") and "FLOPGRID_SHARED" in lines[0]
