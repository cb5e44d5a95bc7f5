"""What every trace loader shares: the result type, bad-row counting and the model rule."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flopgrid.files import read_input_text
from flopgrid.sim.jobs import JobSpec


def open_trace(path: str | Path) -> io.StringIO:
    """The trace's text as a file object for `csv` (read through `flopgrid.files`: a missing,
    oversized or non-UTF-8 file is a one-line error)."""
    return io.StringIO(read_input_text(path, "trace"), newline="")


@dataclass
class TraceLoad:
    """Jobs read from a trace plus the rows skipped, by reason."""

    jobs: list[JobSpec]
    skipped: Counter = field(default_factory=Counter)
    source: str = ""

    def summary(self) -> str:
        """One line naming how many rows were skipped and why ('' when none)."""
        n = sum(self.skipped.values())
        if not n:
            return ""
        reasons = ", ".join(f"{k}: {v}" for k, v in self.skipped.most_common())
        return f"skipped {n} bad row(s) of {self.source} ({reasons})"


# Model assignment for traces that name no model (Philly, Alibaba). Rule (seeded,
# deterministic): the tier is picked by GPU count; inside a tier a uniform draw from
# numpy's default_rng(seed) (one draw per row, in file order) picks the candidate, and a
# job that ran >= 1 day takes the tier's largest model. Catalog models stand in for the
# unknown 2017 workloads by size: single GPUs train ~0.1B models, 2-8 GPU jobs ~1B, larger
# gangs ~2-4B, which fit V100 32 GB memory at those gang sizes.
MODEL_TIERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("gpt2-124m",)),
    (4, ("gpt2-124m", "mpt-1b")),
    (16, ("mpt-1b", "megatron-1.7b")),
    (1 << 30, ("megatron-1.7b", "mpt-3b")),
)
LONG_JOB_S = 86400.0


def assign_models(chips: np.ndarray, duration_s: np.ndarray, seed: int) -> list[str]:
    """Catalog model names for rows of a model-less trace (rule above)."""
    u = np.random.default_rng(seed).random(len(chips))
    out: list[str] = []
    for g, d, x in zip(chips.tolist(), duration_s.tolist(), u.tolist()):
        for limit, names in MODEL_TIERS:
            if g <= limit:
                out.append(names[-1] if d >= LONG_JOB_S else names[int(x * len(names))])
                break
    return out
