"""flopgrid's own trace format (CSV or JSON).

CSV with a header, or JSON (a list of objects, or `{"jobs": [...]}`), one job per row:

| field | required | meaning |
| --- | --- | --- |
| `submit_s` | yes | submit time, seconds (any origin; shifted to start at 0) |
| `chips` | yes | gang size requested |
| `model` | no | catalog model name (default: the seeded rule of traces/common.py) |
| `duration_s` | one of | run time at `chips` on the fleet's reference (first) pool, s |
| `tokens` | one of | training tokens: work = tokens x model FLOPs per token |
| `id` | no | job id (default `job-<row>`) |
| `hardware` | no | the hardware `duration_s` was measured on (default: the fleet's first pool) |
| `value_usd_per_eflop` | no | the buyer's value per useful EFLOP (market policies, welfare) |
| `job_class` | no | a label the report groups jobs by (e.g. pretraining, fine-tune) |

Bad rows (missing/unparsable fields, non-positive duration/tokens/chips/value, unknown model
or hardware) are skipped and counted.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from flopgrid.catalog import ACCELERATORS, ALIASES, MODELS
from flopgrid.errors import UserInputError
from flopgrid.sim.jobs import JobSpec
from flopgrid.sim.traces.common import TraceLoad, assign_models


def _rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserInputError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(data, dict):
            data = data.get("jobs")
        if not isinstance(data, list):
            raise UserInputError(f"{path}: a flopgrid JSON trace is a list of jobs or {{\"jobs\": [...]}}")
        return [r if isinstance(r, dict) else {} for r in data]
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "submit_s" not in reader.fieldnames or "chips" not in reader.fieldnames:
        raise UserInputError(f"{path}: not a flopgrid trace (needs columns submit_s, chips and duration_s or tokens)")
    return list(reader)


def _opt(row: dict[str, Any], key: str) -> float | None:
    v = row.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    return float(v)


def load_flopgrid(path: Path, seed: int = 0) -> TraceLoad:
    load = TraceLoad(jobs=[], source=str(path))
    kept: list[tuple] = []
    for i, row in enumerate(_rows(path)):
        try:
            t = float(row["submit_s"])
            g = float(row["chips"])
            d = _opt(row, "duration_s")
            tok = _opt(row, "tokens")
            val = _opt(row, "value_usd_per_eflop")
        except (KeyError, ValueError, TypeError):
            load.skipped["missing or unparsable field"] += 1
            continue
        if t != t or abs(t) == float("inf"):
            load.skipped["unparsable time"] += 1
            continue
        if not g >= 1 or g != int(g):
            load.skipped["zero or fractional chips"] += 1
            continue
        if d is None and tok is None:
            load.skipped["no duration_s or tokens"] += 1
            continue
        if (d is not None and not d > 0) or (tok is not None and not tok > 0):
            load.skipped["non-positive duration or tokens"] += 1
            continue
        model = (row.get("model") or None)
        if model is not None and model not in MODELS:
            load.skipped["unknown model"] += 1
            continue
        if val is not None and not (val > 0 and val != float("inf")):
            load.skipped["non-positive value_usd_per_eflop"] += 1
            continue
        hw = row.get("hardware") or None
        if hw is not None and hw not in ACCELERATORS and hw not in ALIASES:
            load.skipped["unknown hardware"] += 1
            continue
        kept.append((t, int(g), str(row.get("id") or f"job-{i}"), model, d, tok, hw, val, str(row.get("job_class") or "")))
    if not kept:
        return load
    kept.sort(key=lambda r: r[0])
    t0 = kept[0][0]
    fill = assign_models(np.asarray([r[1] for r in kept]), np.asarray([r[4] or 0.0 for r in kept]), seed)
    load.jobs = [
        JobSpec(id=jid, submit_s=t - t0, chips=g, model=m or f, duration_s=d, tokens=tok, hardware=hw,
                value_usd_per_eflop=val, job_class=cls)
        for (t, g, jid, m, d, tok, hw, val, cls), f in zip(kept, fill)
    ]
    return load
