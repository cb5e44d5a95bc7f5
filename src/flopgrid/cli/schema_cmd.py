"""`flopgrid schema NAME`: the JSON Schema of a flopgrid file format, generated from the
pydantic model that reads it (so the schema cannot drift from the code).

To document a new format: add one row to FORMATS (name, "module:Model", docs page, shipped
example) and a page under docs/formats/.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import NamedTuple

import typer

from flopgrid.errors import UserInputError, did_you_mean

DOCS = "docs/formats"


class Format(NamedTuple):
    model: str  # "module:Class", imported only when asked for
    doc: str  # page under docs/formats/
    example: str  # file under flopgrid/examples/formats/
    summary: str


FORMATS: dict[str, Format] = {
    "model-spec": Format("flopgrid.catalog.model_spec:ModelSpec", "model-spec.md", "model-spec.yaml",
                         "a transformer's shape (MODEL of mfu, predict, plan)"),
    "cluster": Format("flopgrid.catalog.cluster:Cluster", "cluster.md", "cluster.json",
                      "a fabric: chips, scale-up domain, scale-out bandwidth (--cluster)"),
    "fleet": Format("flopgrid.sim.fleet:FleetSpec", "fleet.md", "fleet.json", "pools of a simulated fleet (--fleet)"),
    "scenario": Format("flopgrid.market.orders:Scenario", "scenario.md", "scenario.json",
                       "a day-ahead market: horizon, pools, bids (clear)"),
    "result": Format("flopgrid.market.result_schema:ClearResultFile", "result.md", "result.json",
                     "a clearing result (clear --json; input of settle)"),
    "delivery": Format("flopgrid.market.delivery:Delivery", "delivery.md", "delivery.json",
                       "metered delivery of a cleared market (settle)"),
    "framework": Format("flopgrid.catalog.framework:FrameworkProfile", "framework-profile.md",
                        "framework-profile.yaml", "a training software stack (--framework of predict, plan)"),
}


def model_of(name: str):
    """The pydantic model class of format `name` (one-line error for an unknown name)."""
    if name not in FORMATS:
        raise UserInputError(f"unknown format {name!r}{did_you_mean(name, FORMATS)}: use one of {', '.join(FORMATS)}")
    module, cls = FORMATS[name].model.split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise UserInputError(f"format {name!r} needs an extra that is not installed ({exc.name})") from None


def json_schema(name: str) -> dict:
    """The JSON Schema (draft 2020-12) of format `name`."""
    schema = model_of(name).model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"flopgrid {name} format, see {DOCS}/{FORMATS[name].doc}", **schema}


def example_text(name: str) -> str:
    """The shipped example file of format `name` (or of a trace format: trace-philly ...)."""
    from importlib.resources import files

    if name in FORMATS:
        filename = FORMATS[name].example
    elif name in TRACE_EXAMPLES:
        filename = f"{name}.csv"
    else:
        raise UserInputError(f"no example named {name!r}: use one of {', '.join([*FORMATS, *TRACE_EXAMPLES])}")
    return files("flopgrid.examples").joinpath("formats", filename).read_text(encoding="utf-8")


TRACE_EXAMPLES = ("trace-flopgrid", "trace-philly", "trace-alibaba", "trace-pollux")


def schema(
    name: str = typer.Argument(None, help=f"format name: {', '.join(FORMATS)} (none: list them)"),
    example: bool = typer.Option(False, "--example", help="print the shipped example file instead (also "
                                 "trace-flopgrid, trace-philly, trace-alibaba, trace-pollux)"),
) -> None:
    """Print the JSON Schema of a flopgrid file format, generated from the model that reads
    it; with --example a complete small example of it.

    Each format is described in docs/formats/ (traces, CSV files: docs/formats/trace.md)."""
    if name is None:
        for key, f in FORMATS.items():
            print(f"{key:<11} {f.summary}")
        print(f"{'trace':<11} job traces, CSV: philly, alibaba, flopgrid, pollux")
        print(f"\neach is described in {DOCS}/NAME.md; `flopgrid schema NAME` prints its JSON Schema,\n"
              "`flopgrid schema NAME --example` a complete example")
        return
    if example:
        sys.stdout.write(example_text(name))
        return
    if name == "trace" or name in TRACE_EXAMPLES:
        raise UserInputError(f"traces are CSV files without a JSON Schema: see {DOCS}/trace.md, or "
                             f"`flopgrid schema {name if name != 'trace' else 'trace-flopgrid'} --example`")
    print(json.dumps(json_schema(name), indent=2))


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
