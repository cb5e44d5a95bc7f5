"""A pydantic model of the `flopgrid clear --json` result file (docs/formats/result.md;
`flopgrid schema result`): the contract keys of DESIGN.md, every one required; the result
carries more keys (providers, monitor, model size, timings) which the model allows.

Used for the documentation's JSON Schema and to check files; `flopgrid clear` itself
writes `ClearingResult.to_dict()` (flopgrid.market.result), checked against this model in
the test of the shipped example.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ResultAllocation(_Open):
    """One cleared bid: a gang on a pool for a run of intervals."""

    bid: str
    pool: str
    chips: int = Field(gt=0, description="gang size")
    start: int = Field(ge=0, description="first interval")
    intervals: int = Field(gt=0, description="number of intervals, [start, start + intervals)")
    predicted_mfu: float | None = Field(description="MFU the perf model predicts for the bid's model there")
    useful_eflop: float | None = Field(description="useful EFLOP the allocation delivers (predicted)")
    price_per_chip_hour: float = Field(description="USD per chip-hour, before uplift")
    price_per_eflop: float | None = Field(description="USD per useful EFLOP")
    payment_usd: float = Field(description="what the buyer pays day-ahead, uplift included")


class ResultPrice(_Open):
    """The uniform price of one pool in one interval (dual of its capacity row)."""

    pool: str
    interval: int = Field(ge=0)
    price_per_chip_hour: float


class ResultUnserved(_Open):
    bid: str
    reason: str


class ClearResultFile(_Open):
    """`flopgrid clear --json` (and `--out`): input of `flopgrid settle`."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"title": "flopgrid clear result"})

    status: str = Field(description="optimal | feasible | time_limit | infeasible | ...")
    welfare_usd: float | None
    allocations: list[ResultAllocation]
    prices: list[ResultPrice]
    uplift: dict = Field(description="make-whole uplift: total_usd, credits, charges")
    unserved: list[ResultUnserved]
    solve_seconds: float
    gap: float | None = Field(description="relative MIP gap; null when no bound is known")
