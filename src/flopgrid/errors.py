"""Errors shared by every layer.

`UserInputError` is a mistake in what the user gave (exit code 2 at the CLI, one line on
stderr, no traceback). `NoSolutionError` means the input was valid but nothing satisfies it
(exit code 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FlopgridError(Exception):
    """Base class of flopgrid's own errors."""

    exit_code = 1


class UserInputError(FlopgridError, ValueError):
    """Bad input: names the value and what is allowed. The CLI exits with code 2."""

    exit_code = 2


class NoSolutionError(FlopgridError):
    """Valid input with no valid answer (for example no parallel plan fits). Exit code 1."""

    exit_code = 1


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(name.lower(), list(choices), n=3, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def require_positive(value: float, what: str) -> float:
    """Return `value` if it is a finite number > 0, else raise UserInputError naming it."""
    import math

    if value is None or not math.isfinite(value) or value <= 0:
        raise UserInputError(f"{what} must be a finite number > 0, got {value!r}")
    return value


SEED_MAX = 2**32 - 1  # numpy's default_rng and torch.manual_seed take any seed in [0, 2^32)


def require_int_range(value: int, low: int, high: int, what: str) -> int:
    """Return `value` if low <= value <= high, else raise UserInputError naming it."""
    if value is None or not low <= value <= high:
        raise UserInputError(f"{what} must be an integer from {low:,} to {high:,}, got {value!r}")
    return value


def require_seed(seed: int, what: str = "--seed") -> int:
    """A random seed: an integer in [0, 2^32)."""
    return require_int_range(seed, 0, SEED_MAX, what)
