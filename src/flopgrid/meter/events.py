"""The meter's event log: append-only JSONL, one event per line, one file per rank.

Every event is a JSON object with `event` (its kind), `t` (Unix seconds, float), `rank`
and `session` (a random id per process start: a restart appends a new session to the
same file). Kinds and their extra fields:

- `start`: `run`, `world_size`, `hardware`, `device`, `dtype`, `peak_flops_per_chip`,
  `peak_source`, `model` (spec name or null), `model_flops_per_token`,
  `hardware_flops_per_token`, `recompute`, `threads`, `flops_source`.
- `step`: `step` (the training step counter), `t0` (Unix s when the wait for its batch
  began), `data_s` (waiting for the batch), `compute_s` (forward, backward, optimizer;
  checkpoint time inside the step excluded), `tokens` (this rank's tokens), optional
  `device_s` (CUDA event time, GPU only).
- `checkpoint_save` / `checkpoint_restore`: `t0`, `duration_s`, `step`.
- `flop_count`: `counted_flops_per_token`, `analytic_flops_per_token`, `rel_diff`.
- `reading`: a periodic `flopgrid.meter.reading.MeterReading` (see there).
- `end`: the run closed cleanly.

Writes: one `write()` of a whole line, flushed each event (`flush()`), `os.fsync` at
checkpoints and at close, so a kill -9 loses at most the line being written. The reader
skips a torn (unparseable) last line and reports it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopgrid.errors import UserInputError

EVENT_KINDS = ("start", "step", "checkpoint_save", "checkpoint_restore", "flop_count", "reading", "end")


def rank_path(path: str | Path, rank: int) -> Path:
    """Rank 0 writes `path`; rank r > 0 writes `<stem>.rank<r><suffix>` beside it."""
    p = Path(path)
    return p if rank == 0 else p.with_name(f"{p.stem}.rank{rank}{p.suffix or '.jsonl'}")


class EventLog:
    """Append-only JSONL writer for one rank."""

    def __init__(self, path: str | Path, truncate: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "w" if truncate else "a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        self._f.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._f.flush()

    def fsync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.fsync()
            self._f.close()


@dataclass
class LogContents:
    """Events read from one or more files, with what could not be read."""

    events: list[dict[str, Any]] = field(default_factory=list)
    torn_lines: int = 0  # unparseable last lines (a kill during the write)
    files: list[str] = field(default_factory=list)


def read_events(path: str | Path) -> LogContents:
    """Events of one JSONL file in file order. A torn last line is skipped and counted;
    a bad line anywhere else is corruption and raises UserInputError."""
    from flopgrid.files import read_input_bytes

    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"event log {str(p)!r} does not exist")
    lines = read_input_bytes(p, "event log").split(b"\n")
    out = LogContents(files=[str(p)])
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
            if not isinstance(event, dict) or "event" not in event:
                raise ValueError("not an event")
        except (ValueError, UnicodeDecodeError):
            if i == last:
                out.torn_lines += 1
                continue
            raise UserInputError(f"{p}: line {i + 1} is not a meter event (corrupt log)") from None
        out.events.append(event)
    return out


def merge_logs(paths: list[str | Path]) -> LogContents:
    """Read every file (one per rank, or several runs' files) into one event list,
    ordered by rank then file order (file order is time order within a rank)."""
    if not paths:
        raise UserInputError("give at least one event log (RUN.jsonl)")
    merged = LogContents()
    for p in paths:
        part = read_events(p)
        merged.events.extend(part.events)
        merged.torn_lines += part.torn_lines
        merged.files.extend(part.files)
    merged.events.sort(key=lambda e: int(e.get("rank", 0)))  # stable: keeps file order per rank
    return merged
