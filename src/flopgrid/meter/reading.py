"""A meter reading: what one rank delivered over an interval, in the form the flopgrid
service will accept (POST /readings with the HTTP service issue; the store keeps them
for settlement).

JSON form (schema 1); all fields required unless marked:

    {"event": "reading", "schema": 1,
     "run": str,                   # run id (the job)
     "rank": int, "world_size": int,
     "hardware": str,              # catalog name or "cpu"
     "dtype": str,
     "interval_start_unix_s": float, "interval_end_unix_s": float,
     "steps": int,                 # steps finished in the interval
     "last_step": int,             # step counter at the end of the interval
     "tokens": int,                # tokens this rank processed in the interval
     "model_flops_per_token": float,
     "useful_flops": float,        # tokens x model_flops_per_token
     "productive_s": float,        # compute time of those steps
     "badput_s": {category: float},  # live categories (see flopgrid.meter.badput);
                                     # wasted progress is only known after a restart
                                     # and is found by the report / the service
     "peak_flops_per_chip": float,
     "mfu": float}                 # useful_flops / (productive_s x peak), this rank

Readings are cumulative-free (per interval), so the service sums them; a reading from a
step that a restart later re-does is corrected at settlement from the step counter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

READING_SCHEMA = 1


@dataclass(frozen=True)
class MeterReading:
    run: str
    rank: int
    world_size: int
    hardware: str
    dtype: str
    interval_start_unix_s: float
    interval_end_unix_s: float
    steps: int
    last_step: int
    tokens: int
    model_flops_per_token: float
    useful_flops: float
    productive_s: float
    badput_s: dict[str, float] = field(default_factory=dict)
    peak_flops_per_chip: float = 0.0
    mfu: float = 0.0

    def as_event(self) -> dict[str, Any]:
        return {"event": "reading", "schema": READING_SCHEMA, **asdict(self)}

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> "MeterReading":
        """Parse a reading (the service's validation entry point)."""
        from flopgrid.errors import UserInputError

        if event.get("event") != "reading" or event.get("schema") != READING_SCHEMA:
            raise UserInputError(f"not a schema-{READING_SCHEMA} meter reading: {str(event)[:80]}")
        fields = {k: event[k] for k in cls.__dataclass_fields__ if k in event}
        missing = [k for k in cls.__dataclass_fields__ if k not in event]
        if missing:
            raise UserInputError(f"meter reading lacks: {', '.join(missing)}")
        return cls(**fields)
