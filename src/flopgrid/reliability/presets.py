"""Published reliability figures turned into model parameters (../shared/reference/reliability.md).

- Llama 3 405B (Meta 2024, arXiv:2407.21783, §3.3.4, Table 5): 16,384 H100 GPUs, 54 days,
  419 unexpected interruptions -> per-GPU MTTF = 54 * 24 * 16384 / 419 ~= 50,677 GPU-hours
  (4.7e-4 interruptions per GPU-day; 3.1 h between interruptions for the whole job). This is
  the default MTTF of the failure model. Checkpoint and restart costs are not published: we
  assume a checkpoint written in 3 minutes asynchronously, stalling training 10 s (PyTorch
  DCP async_save blocks only for the device-to-host copy; the PyTorch blog "Reducing model
  checkpointing times by over 10x with PyTorch Distributed Asynchronous Checkpointing",
  2024, reports the blocking time cut more than tenfold), and a 3-minute restart (reload +
  re-initialisation). The first-order model then gives about 93% effective time (> 90%
  reported); taken synchronously the same checkpoint would give about 80%.
- OPT-175B (metaseq logbook): 992 A100 80GB (124 hosts), "~2 machines go down every day"
  -> a host MTTF of 62 days, i.e. a per-GPU MTTF of 124 * 24 / 2 * 8 = 11,904 GPU-hours
  (one interruption per 12 h). 1.6 TB checkpoint, taken here as 800 s to write (about
  2 GB/s aggregate to shared storage, our assumption) and a 2-hour restart (manual
  detection, node replacement and reload, as the logbook describes). The first-order model
  then gives about 64% effective time (reported: about 59%).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReliabilityPreset:
    """Parameters of one published run. Times in seconds."""

    name: str
    chips: int
    mttf_chip_hours: float
    checkpoint_s: float  # training stall per checkpoint
    restart_s: float
    chips_per_node: int
    source: str
    checkpoint_write_s: float | None = None  # until durable; None = synchronous (= checkpoint_s)


LLAMA3_MTTF_CHIP_HOURS = 54 * 24 * 16384 / 419
"""Default per-chip MTTF (GPU-hours), Llama 3 §3.3.4: 419 unexpected interruptions, 54 days, 16,384 GPUs."""

DEFAULT_CHECKPOINT_S = 10.0
"""Default checkpoint stall (s): asynchronous checkpointing blocks training only for the
device-to-host copy (our assumption, see the module docstring)."""

DEFAULT_CHECKPOINT_WRITE_S = 180.0
"""Default time until a checkpoint is durable (s): "a few minutes", our assumption."""

DEFAULT_RESTART_S = 180.0
"""Default restart cost (s): reload and re-initialise, our assumption (Pollux 30 s per
reallocation, Tiresias ~62 s per preemption, Sia 15-250 s)."""

DEFAULT_REPAIR_S = 4 * 3600.0
"""Default time a failed node stays out of service (s), our assumption."""

LLAMA3 = ReliabilityPreset(
    name="llama3-405b", chips=16384, mttf_chip_hours=LLAMA3_MTTF_CHIP_HOURS,
    checkpoint_s=DEFAULT_CHECKPOINT_S, restart_s=DEFAULT_RESTART_S, chips_per_node=8,
    source="Llama 3 (arXiv:2407.21783) §3.3.4 Table 5; C, W and R assumed",
    checkpoint_write_s=DEFAULT_CHECKPOINT_WRITE_S,
)

OPT175B = ReliabilityPreset(
    name="opt-175b", chips=992, mttf_chip_hours=124 * 24 / 2 * 8, checkpoint_s=800.0,
    restart_s=7200.0, chips_per_node=8,
    source="metaseq OPT-175B logbook: 124 hosts, ~2 machines down a day, 1.6 TB checkpoint; C and R assumed",
)

PRESETS: dict[str, ReliabilityPreset] = {p.name: p for p in (LLAMA3, OPT175B)}
