"""FLOPs per token counted by PyTorch (torch.utils.flop_counter.FlopCounterMode) and the
cross-check against the analytic count (flopgrid.flops, PaLM App. B).

FlopCounterMode counts matmul-like ops (mm, bmm, addmm, convolution, attention kernels
on CUDA) of whatever runs inside it; on CPU it counts fused attention
(`scaled_dot_product_attention`) as zero, which is one reason the two counts can differ.
"""

from __future__ import annotations

import warnings

CROSS_CHECK_TOLERANCE = 0.10


def start_counter():
    """A started FlopCounterMode (the caller runs one training step, then `stop_counter`)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    counter.__enter__()
    return counter


def stop_counter(counter) -> float:
    """Stop `counter`; total FLOPs it saw."""
    counter.__exit__(None, None, None)
    return float(counter.get_total_flops())


def cross_check(counted_flops_per_token: float, analytic_flops_per_token: float | None,
                tolerance: float = CROSS_CHECK_TOLERANCE) -> float | None:
    """Relative difference (counted - analytic) / analytic; warns when above `tolerance`."""
    if not analytic_flops_per_token:
        return None
    rel = (counted_flops_per_token - analytic_flops_per_token) / analytic_flops_per_token
    if abs(rel) > tolerance:
        warnings.warn(
            f"counted FLOPs per token ({counted_flops_per_token:.4g}) differ from the analytic count "
            f"({analytic_flops_per_token:.4g}) by {100 * rel:+.1f}% (> {100 * tolerance:.0f}%): check the "
            "model spec (or fused attention counted as zero on CPU)", stacklevel=3)
    return rel
