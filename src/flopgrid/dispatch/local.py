"""Connecting to Ray: an existing cluster (`auto`, or `ray://` / `host:port`), or a local one
started here (`local`). On a CPU-only machine the local cluster declares the custom
resource `chip` (one per rank slot) so gangs reserve chips the same way they reserve GPUs."""

from __future__ import annotations

import logging
import os

from flopgrid.errors import UserInputError

log = logging.getLogger(__name__)


def connect(address: str = "local", chips: int | None = None, num_cpus: int | None = None) -> str:
    """`ray.init` for dispatch; returns what it connected to. `chips`: the `chip` resource
    of a local CPU-only cluster (default: the CPU count)."""
    import ray

    if ray.is_initialized():
        return "already connected"
    if address == "local":
        cpus = num_cpus or max(os.cpu_count() or 1, chips or 0)  # a rank slot needs a CPU beside its chip
        resources = {}
        try:
            import torch

            has_gpu = torch.cuda.is_available()
        except ImportError:  # pragma: no cover - the ray extra brings torch via meter
            has_gpu = False
        if not has_gpu:
            resources["chip"] = float(chips or cpus)
        # address="local": a new cluster here even when another one runs on this machine (ray.init
        # without an address joins a running one)
        ray.init(address="local", num_cpus=cpus, resources=resources, include_dashboard=False, log_to_driver=False)
        chip_note = f", {resources['chip']:.0f} chip" if resources else ""
        return f"local Ray cluster ({cpus} CPUs{chip_note})"
    if not address:
        raise UserInputError("--address: give auto, local, or a Ray address (host:port, ray://host:port)")
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserInputError(f"--address {address!r}: cannot connect to Ray ({str(exc).splitlines()[0]})") from None
    return f"Ray cluster at {address}"
