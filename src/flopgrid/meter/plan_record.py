"""The plan a metered job declares, as recorded in its log's `start` event.

The fields are DESIGN.md's Plan (tp, pp, dp, cp, ep, micro_batch, interleave, recompute,
zero, sequence_parallel); what is not given takes the Plan default, except `dp`, which
defaults to the world size divided by tp*pp*cp (a plain data-parallel job declares
nothing). Validation of the fields is `flopgrid.perf.Plan`'s.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from flopgrid.errors import UserInputError
from flopgrid.perf import Plan


def plan_record(plan: Mapping[str, Any] | Plan | None, world_size: int) -> dict[str, Any]:
    """The plan as a full dict; warns when tp*pp*dp*cp differs from the world size."""
    given = dict(plan.as_dict() if isinstance(plan, Plan) else (plan or {}))
    allowed = {f.name for f in fields(Plan)}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise UserInputError(f"unknown plan field(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    if "dp" not in given:
        inner = int(given.get("tp", 1)) * int(given.get("pp", 1)) * int(given.get("cp", 1))
        given["dp"] = max(1, world_size // inner)
    given.setdefault("tp", 1)
    given.setdefault("pp", 1)
    record = Plan(**given).as_dict()
    chips = record["tp"] * record["pp"] * record["dp"] * record["cp"]
    if chips != world_size:
        warnings.warn(f"the declared plan spans {chips} chips (tp*pp*dp*cp) but the job has {world_size} rank(s)",
                      stacklevel=3)
    return record
