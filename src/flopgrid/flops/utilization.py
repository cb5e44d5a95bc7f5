"""MFU and HFU from a measured throughput (PaLM App. B; DESIGN.md).

MFU = tokens/s x model FLOPs per token / (chips x dense peak FLOP/s per chip).
HFU uses hardware FLOPs per token (recompute included) in the numerator.
"""

from __future__ import annotations

from dataclasses import dataclass

from flopgrid.errors import UserInputError, require_positive


@dataclass(frozen=True)
class Throughput:
    """A measured throughput, normalised to tokens per second for the whole job."""

    tokens_per_second: float

    @classmethod
    def from_any(
        cls,
        chips: int,
        tokens_per_second: float | None = None,
        tokens_per_second_per_chip: float | None = None,
        step_time_s: float | None = None,
        global_batch_tokens: float | None = None,
    ) -> "Throughput":
        """Accept exactly one of: job tokens/s, tokens/s per chip, or step time + batch."""
        given = [
            tokens_per_second is not None,
            tokens_per_second_per_chip is not None,
            step_time_s is not None or global_batch_tokens is not None,
        ]
        if sum(given) != 1:
            raise UserInputError(
                "give exactly one throughput: --tokens-per-second, --tokens-per-second-per-chip, "
                "or --step-time with --global-batch-tokens"
            )
        require_positive(chips, "chips")
        if tokens_per_second is not None:
            return cls(require_positive(tokens_per_second, "tokens per second"))
        if tokens_per_second_per_chip is not None:
            return cls(require_positive(tokens_per_second_per_chip, "tokens per second per chip") * chips)
        if step_time_s is None or global_batch_tokens is None:
            raise UserInputError("--step-time and --global-batch-tokens must be given together")
        require_positive(step_time_s, "step time (s)")
        require_positive(global_batch_tokens, "global batch tokens")
        return cls(global_batch_tokens / step_time_s)


def flops_utilization(flops_per_token: float, tokens_per_second: float, chips: int, peak_flops_per_chip: float) -> float:
    """Achieved FLOP/s over peak FLOP/s of all chips (MFU with model FLOPs, HFU with
    hardware FLOPs)."""
    if chips <= 0 or peak_flops_per_chip <= 0:
        raise UserInputError(f"chips ({chips}) and peak FLOP/s ({peak_flops_per_chip}) must be > 0")
    return flops_per_token * tokens_per_second / (chips * peak_flops_per_chip)
