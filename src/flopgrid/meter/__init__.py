"""Live metering of PyTorch training: MFU, HFU, goodput and badput (needs the `meter` extra).

`Meter` (flopgrid.meter.meter) instruments a loop; `read_events`/`merge_logs` and
`build_report` turn its JSONL logs into the `flopgrid meter report` figures. Importing
this package does not import torch; constructing a `Meter` does. `FlopgridCallback`
(Hugging Face Trainer, extra `hf`) and `FlopgridLightningCallback` (extra `lightning`)
drive the same `Meter` from the frameworks' hooks; `rank_spread` finds stragglers.
"""

from flopgrid.meter.badput import BADPUT_CATEGORIES, account_rank
from flopgrid.meter.events import EventLog, merge_logs, rank_path, read_events
from flopgrid.meter.ranks import RankSpread, rank_spread
from flopgrid.meter.reading import MeterReading
from flopgrid.meter.report import MeterReport, build_report


def __getattr__(name: str):
    if name == "Meter":
        from flopgrid.meter.meter import Meter

        return Meter
    if name == "FlopgridCallback":  # extra `hf`
        from flopgrid.meter.hf import FlopgridCallback

        return FlopgridCallback
    if name == "FlopgridLightningCallback":  # extra `lightning`
        from flopgrid.meter.lightning import FlopgridLightningCallback

        return FlopgridLightningCallback
    raise AttributeError(name)


__all__ = ["BADPUT_CATEGORIES", "EventLog", "FlopgridCallback", "FlopgridLightningCallback", "Meter", "MeterReading",
           "MeterReport", "RankSpread", "account_rank", "build_report", "merge_logs", "rank_path", "rank_spread",
           "read_events"]
