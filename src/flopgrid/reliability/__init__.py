"""Reliability: how often a job of N chips fails, what checkpoint interval, what goodput.

First-order model (Young 1974 / Daly 2006) calibrated on Llama 3 §3.3.4 by default
(../shared/reference/reliability.md). Imports only catalog, flops, errors and numpy.
"""

from flopgrid.reliability.checkpointing import (
    expected_goodput,
    interruptions_per_day,
    job_mtbf_s,
    lost_fraction,
    young_daly_interval_s,
)
from flopgrid.reliability.failures import lost_work_s, node_failure_rate_per_s, sample_node_failures
from flopgrid.reliability.presets import (
    DEFAULT_CHECKPOINT_S,
    DEFAULT_CHECKPOINT_WRITE_S,
    DEFAULT_REPAIR_S,
    DEFAULT_RESTART_S,
    LLAMA3,
    LLAMA3_MTTF_CHIP_HOURS,
    OPT175B,
    PRESETS,
    ReliabilityPreset,
)

__all__ = [
    "DEFAULT_CHECKPOINT_S", "DEFAULT_CHECKPOINT_WRITE_S", "DEFAULT_REPAIR_S", "DEFAULT_RESTART_S", "LLAMA3", "LLAMA3_MTTF_CHIP_HOURS",
    "OPT175B", "PRESETS", "ReliabilityPreset", "expected_goodput", "interruptions_per_day", "job_mtbf_s",
    "lost_fraction", "lost_work_s", "node_failure_rate_per_s", "sample_node_failures", "young_daly_interval_s",
]
