"""The uncertainty band of a prediction, from the honest (leave-one-source-out) error.

`python bench/perf_accuracy.py` prints, for each kind of run, the range of the signed
relative error predicted/measured - 1 when the run's source was left out of the fit. A
prediction of MFU m with errors in [e_lo, e_hi] brackets the true MFU in
[m / (1 + e_hi), m / (1 + e_lo)]: `mfu_low` and `mfu_high`. Kinds: the chip family
(`a100`, `h100`, `tpu`; `other` for chips no published run in the set used), the
parallelism style (`fsdp` = ZeRO-3, `3d` otherwise) and the scale (`large` above 256
chips). Kinds without rows take the widest band of their family, and chips outside the
set the widest band of all, widened by OTHER_CHIP_EXTRA (no run of theirs was checked).
"""

from __future__ import annotations

LARGE_CHIPS = 256
OTHER_CHIP_EXTRA = 0.10

# (family, style, scale) -> (e_lo, e_hi): min and max leave-one-source-out signed error
# over the rows of that kind, from `python bench/perf_accuracy.py` (section "band").
BAND_ERRORS: dict[tuple[str, str, str], tuple[float, float]] = {
    ("a100", "3d", "large"): (-0.104, +0.074),  # 11 rows
    ("a100", "3d", "small"): (-0.090, +0.007),  # 8 rows
    ("a100", "fsdp", "small"): (-0.144, +0.064),  # 7 rows
    ("h100", "3d", "large"): (-0.152, +0.062),  # 3 rows
    ("h100", "fsdp", "small"): (-0.063, +0.189),  # 9 rows
    ("tpu", "fsdp", "large"): (+0.000, +0.094),  # 1 row
    ("tpu", "fsdp", "small"): (-0.019, +0.002),  # 4 rows
}


def family(accelerator_name: str) -> str:
    """The chip family a band is kept for."""
    if accelerator_name.startswith("a100"):
        return "a100"
    if accelerator_name.startswith(("h100", "h200")):
        return "h100"
    if accelerator_name.startswith("tpu"):
        return "tpu"
    return "other"


def run_kind(accelerator_name: str, chips: int, zero: int) -> tuple[str, str, str]:
    return family(accelerator_name), "fsdp" if zero == 3 else "3d", "large" if chips > LARGE_CHIPS else "small"


def band_errors(accelerator_name: str, chips: int, zero: int) -> tuple[float, float]:
    """(e_lo, e_hi) for this kind of run (see the module docstring for the fallbacks)."""
    kind = run_kind(accelerator_name, chips, zero)
    if kind in BAND_ERRORS:
        return BAND_ERRORS[kind]
    same = [v for k, v in BAND_ERRORS.items() if k[0] == kind[0]]
    if same:
        return min(v[0] for v in same), max(v[1] for v in same)
    lo = min(v[0] for v in BAND_ERRORS.values()) - OTHER_CHIP_EXTRA
    hi = max(v[1] for v in BAND_ERRORS.values()) + OTHER_CHIP_EXTRA
    return lo, hi


def mfu_band(accelerator_name: str, chips: int, zero: int) -> tuple[float, float]:
    """Multipliers (low, high) that turn a predicted MFU into mfu_low and mfu_high."""
    lo, hi = band_errors(accelerator_name, chips, zero)
    return 1.0 / (1.0 + hi), 1.0 / (1.0 + lo)
