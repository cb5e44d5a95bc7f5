"""Live metering of PyTorch training: MFU, HFU, goodput and badput (needs the `meter` extra).

`Meter` (flopgrid.meter.meter) instruments a loop; `read_events`/`merge_logs` and
`build_report` turn its JSONL logs into the `flopgrid meter report` figures. Importing
this package does not import torch; constructing a `Meter` does.
"""

from flopgrid.meter.badput import BADPUT_CATEGORIES, account_rank
from flopgrid.meter.events import EventLog, merge_logs, rank_path, read_events
from flopgrid.meter.reading import MeterReading
from flopgrid.meter.report import MeterReport, build_report


def __getattr__(name: str):
    if name == "Meter":
        from flopgrid.meter.meter import Meter

        return Meter
    raise AttributeError(name)


__all__ = ["BADPUT_CATEGORIES", "EventLog", "Meter", "MeterReading", "MeterReport", "account_rank",
           "build_report", "merge_logs", "rank_path", "read_events"]
