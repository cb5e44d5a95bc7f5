"""First-order checkpoint/restart model: job MTBF, Young/Daly interval, expected goodput.

A job of `chips` chips fails whenever any one of them does (chip failures exponential and
independent, mean `mttf_chip_hours` each), so the job's mean time between interruptions is
M = mttf_chip_hours * 3600 / chips seconds. With checkpoint write cost C and restart cost R:

- Young (1974), "A first order approximation to the optimum checkpoint interval",
  CACM 17(9): T_opt ~= sqrt(2 C M).
- Daly (2006), "A higher order estimate of the optimum checkpoint interval for restart
  dumps", FGCS 22(3): T_opt ~= sqrt(2 C M) [1 + sqrt(C / 2M) / 3 + C / 18M] - C for C < 2M,
  else T_opt = M.
- Fraction of wall time lost (first order, ../shared/reference/reliability.md):
  C/T + T/(2M) + R/M; at T_opt the first two terms sum to sqrt(2C/M).

Asynchronous checkpointing (PyTorch DCP `async_save`, Llama 3's training stack) splits the
cost in two: the *stall* C that blocks training (a copy of the shards to host memory) and
the *write* W >= C until the checkpoint is durable on storage. Only C enters the interval
and the C/T term; a failure during the write falls back one more checkpoint, so the work
redone grows by (W - C): loss = C/T + (T/2 + W - C)/M + R/M. With W = C (the default) this
is the synchronous model above.

All functions are pure; times in seconds unless the name says hours.
"""

from __future__ import annotations

import math

from flopgrid.errors import UserInputError

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


def _check(chips: int, mttf_chip_hours: float) -> None:
    if not isinstance(chips, (int,)) or isinstance(chips, bool) or chips <= 0:
        raise UserInputError(f"chips must be a positive integer, got {chips!r}")
    if not (isinstance(mttf_chip_hours, (int, float)) and math.isfinite(mttf_chip_hours) and mttf_chip_hours > 0):
        raise UserInputError(f"mttf_chip_hours must be a finite number > 0, got {mttf_chip_hours!r}")


def _check_cost(value: float, what: str) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise UserInputError(f"{what} must be a finite number >= 0 seconds, got {value!r}")


def job_mtbf_s(chips: int, mttf_chip_hours: float) -> float:
    """Mean time between interruptions of a job spanning `chips` chips, seconds (M = MTTF/chips)."""
    _check(chips, mttf_chip_hours)
    return mttf_chip_hours * SECONDS_PER_HOUR / chips


def interruptions_per_day(chips: int, mttf_chip_hours: float) -> float:
    """Expected unexpected interruptions per day of wall time for a `chips`-chip job."""
    return SECONDS_PER_DAY / job_mtbf_s(chips, mttf_chip_hours)


def young_daly_interval_s(chips: int, mttf_chip_hours: float, checkpoint_s: float, *, higher_order: bool = False) -> float:
    """Optimal checkpoint interval T_opt in seconds of compute between checkpoints.

    Young (1974) first order sqrt(2 C M) by default; `higher_order=True` gives Daly (2006)
    eq. 37. A zero checkpoint cost gives 0 (checkpoint continuously)."""
    _check_cost(checkpoint_s, "checkpoint_s")
    m = job_mtbf_s(chips, mttf_chip_hours)
    c = float(checkpoint_s)
    if c == 0:
        return 0.0
    if not higher_order:
        return math.sqrt(2.0 * c * m)
    if c >= 2.0 * m:
        return m
    return math.sqrt(2.0 * c * m) * (1.0 + math.sqrt(c / (2.0 * m)) / 3.0 + c / (18.0 * m)) - c


def lost_fraction(interval_s: float, job_mtbf: float, checkpoint_s: float, restart_s: float,
                  write_exposure_s: float = 0.0) -> float:
    """First-order fraction of wall time lost at checkpoint interval `interval_s`:
    C/T (stall) + (T/2 + E)/M (work redone after a failure: half an interval on average,
    plus E = W - C for an asynchronous write still in flight) + R/M (restart). Capped to
    [0, 1]."""
    if interval_s <= 0:
        loss = 0.0 if checkpoint_s == 0 else 1.0
    else:
        loss = checkpoint_s / interval_s + interval_s / (2.0 * job_mtbf)
    return min(1.0, max(0.0, loss + (write_exposure_s + restart_s) / job_mtbf))


def expected_goodput(chips: int, mttf_chip_hours: float, checkpoint_s: float, restart_s: float | None = None,
                     *, checkpoint_write_s: float | None = None) -> float:
    """Expected productive fraction of wall time at the Young/Daly optimal interval.

    First-order model of reliability.md: goodput = 1 - sqrt(2C/M) - (W - C + R)/M,
    clamped to [0, 1]; C = `checkpoint_s` (the training stall), W = `checkpoint_write_s`
    (default C: synchronous), R = `restart_s` (default C: restoring takes about as long as
    writing). Example: Llama 3 405B (arXiv:2407.21783 §3.3.4), 16,384 GPUs, M ~= 3.1 h, an
    asynchronous checkpoint written in W = 3 min that stalls training C = 10 s, R = 3 min
    gives about 0.93 (> 90% effective time, as reported); the same 3-minute checkpoint
    taken synchronously gives about 0.80."""
    _check_cost(checkpoint_s, "checkpoint_s")
    r = float(checkpoint_s if restart_s is None else restart_s)
    _check_cost(r, "restart_s")
    w = float(checkpoint_s if checkpoint_write_s is None else checkpoint_write_s)
    _check_cost(w, "checkpoint_write_s")
    if w < checkpoint_s:
        raise UserInputError(f"checkpoint write time ({w} s) must be >= the stall it causes ({checkpoint_s} s)")
    m = job_mtbf_s(chips, mttf_chip_hours)
    t = young_daly_interval_s(chips, mttf_chip_hours, checkpoint_s)
    return 1.0 - lost_fraction(t, m, float(checkpoint_s), r, w - float(checkpoint_s))
