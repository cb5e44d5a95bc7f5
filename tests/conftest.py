"""Shared fixtures. Tests that read ../shared (published figures, real traces) skip with a
clear reason in a user's clone, where ../shared does not exist."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FLOPGRID_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository, or skip."""
    if not (SHARED / "reference").is_dir():
        pytest.skip(f"../shared not found at {SHARED} (published figures and traces live there; set FLOPGRID_SHARED)")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the measured CPU peak cache out of the user's cache dir."""
    monkeypatch.setenv("FLOPGRID_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "flopgrid-cache"))


def run_flopgrid(*args: str, env: dict | None = None, timeout: float = 300):
    """Run the real CLI in a subprocess (`python -m flopgrid ARGS`)."""
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "flopgrid", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


@pytest.fixture
def cli():
    """The CLI runner: cli('mfu', 'gpt2-124m', ...) -> CompletedProcess."""
    return run_flopgrid


def assert_bad_input(proc, *needles: str) -> None:
    """The CLI's bad-input contract: exit 2, one line on stderr naming the problem, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server for the session (or FLOPGRID_TEST_POSTGRES_URL), else skip."""
    from service_support import PostgresServer

    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request):
    return request.param


@pytest.fixture
def db_url(db_kind, request, tmp_path):
    """A fresh, empty database of each kind (SQLite file; PostgreSQL database on the session server)."""
    from service_support import make_db

    pg = request.getfixturevalue("postgres_server") if db_kind == "postgresql" else None
    return make_db(db_kind, pg, tmp_path)



def pytest_configure(config):
    """With xdist (`-n 2`), keep tests marked `xdist_group` on one worker: the Ray dispatch tests
    share one Ray cluster per module and settle what the module's earlier tests ran. Tests without
    the mark are distributed as with `--dist load`. (xdist 3.8 tags grouped node ids itself only
    on pytest < 9, and workers re-read the command line, hence the two hooks below.)"""
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    if getattr(config, "workerinput", {}).get("flopgrid_loadgroup"):
        config.option.loadgroup = True
    config.addinivalue_line("markers", "xdist_group(name): run on one xdist worker with the rest of its group")


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent with -p no:xdist
def pytest_configure_node(node):
    node.workerinput["flopgrid_loadgroup"] = node.config.getvalue("dist") == "loadgroup"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if not getattr(config, "workerinput", {}).get("flopgrid_loadgroup"):
        return
    try:
        from _pytest.nodeid import coerce_node_id  # pytest >= 9: node ids are structured
    except ImportError:  # pytest < 9: xdist adds the @group suffix itself
        return
    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")
