"""Where the benchmarks find ../shared (published figures, real traces): beside the
repository, or FLOPGRID_SHARED. A clone without it skips what needs it with one line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHARED = Path(os.environ.get("FLOPGRID_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def shared_file(relative: str) -> Path | None:
    """The path of `relative` under ../shared, or None when it is absent."""
    path = SHARED / relative
    return path if path.is_file() else None


def skip_line(what: str, relative: str) -> str:
    return (f"skipped {what}: {SHARED / relative} not found (../shared holds the published figures and traces; "
            "set FLOPGRID_SHARED to its folder)")


def require_shared(relative: str, what: str) -> Path:
    """The path of `relative` under ../shared; without it print one line and exit 0."""
    path = shared_file(relative)
    if path is None:
        print(skip_line(what, relative))
        sys.exit(0)
    return path
