"""Which peak FLOP/s per chip a metered run is measured against, and where it came from.

- GPU/accelerator: the catalog's dense peak for the dtype (`--hardware` or the CUDA
  device name mapped to a catalog name). An unknown device is measured (matmul peak)
  rather than guessed: torchtitan falls back to the A100 figure for unknown GPUs and can
  report MFU above 100%.
- CPU: the cached measurement of `flopgrid peak --measure`; when there is none, a quick
  measurement now (about 1 s) which is cached too.

The meter records the peak and its source in the log's `start` event, so the report
does not depend on the machine it runs on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from flopgrid.catalog import get_accelerator
from flopgrid.catalog.cpu_peak import busy_warning, cache_path, load_cpu_peak, record_cpu_peak

# Substrings of torch.cuda.get_device_name() -> catalog name (first match wins).
_CUDA_NAMES: tuple[tuple[str, str], ...] = (
    ("GH200", "h200"), ("H200", "h200"), ("H100 PCIE", "h100-pcie"), ("H100 NVL", "h100-nvl"),
    ("H100", "h100-sxm"), ("GB200", "gb200"), ("B200", "b200"), ("A100-SXM4-40GB", "a100-40gb"),
    ("A100-PCIE-40GB", "a100-40gb"), ("A100", "a100-80gb"), ("V100", "v100-sxm"), ("L40S", "l40s"),
    ("MI300X", "mi300x"), ("MI325X", "mi325x"), ("MI250X", "mi250x"),
)


@dataclass(frozen=True)
class PeakChoice:
    peak_flops_per_chip: float
    hardware: str
    source: str


def catalog_name_for_cuda(device_name: str) -> str | None:
    """The catalog name of a CUDA device name, or None when unknown."""
    upper = device_name.upper()
    return next((name for key, name in _CUDA_NAMES if key in upper), None)


def cpu_peak(dtype: str = "fp32", measure_seconds: float = 1.0) -> PeakChoice:
    """The cached measured CPU peak for `dtype`, measured now (and cached) if missing."""
    record = load_cpu_peak() or {}
    value = record.get("peak_flops", {}).get(dtype)
    if value:
        import torch

        threads = record.get("threads")
        if threads and int(threads) != torch.get_num_threads():
            warnings.warn(f"the cached CPU peak was measured with {threads} threads, this run uses "
                          f"{torch.get_num_threads()}: MFU is against the {threads}-thread peak", stacklevel=3)
        return PeakChoice(float(value), "cpu", f"cached `flopgrid peak --measure` ({threads} threads, {cache_path()})")
    from flopgrid.meter.peak import measure_matmul_peak

    busy = busy_warning()
    if busy:
        warnings.warn(busy, stacklevel=3)
    m = measure_matmul_peak(dtype, size=1024, seconds=measure_seconds, device="cpu", repeats=3)
    record_cpu_peak(dtype, m.flops_per_s, m.spread, m.threads, m.size, m.repeats)
    return PeakChoice(m.flops_per_s, "cpu", f"measured now ({measure_seconds:g} s, {m.threads} threads), cached in {cache_path()}")


def resolve_peak(device: str, dtype: str = "fp32", hardware: str | None = None, peak_flops_per_chip: float | None = None) -> PeakChoice:
    """The peak a run on `device` ('cpu', 'cuda', 'cuda:1') is measured against."""
    if peak_flops_per_chip is not None:
        return PeakChoice(float(peak_flops_per_chip), hardware or device, "given")
    if hardware and hardware != "cpu":
        acc = get_accelerator(hardware)
        return PeakChoice(acc.peak(dtype), acc.name, f"catalog {acc.name} dense {dtype}")
    if device.startswith("cuda"):
        import torch

        name = torch.cuda.get_device_name(torch.device(device))
        catalog = catalog_name_for_cuda(name)
        if catalog:
            acc = get_accelerator(catalog)
            return PeakChoice(acc.peak(dtype), acc.name, f"catalog {acc.name} dense {dtype} (device {name!r})")
        from flopgrid.meter.peak import measure_matmul_peak

        warnings.warn(f"GPU {name!r} is not in the catalog: measuring its matmul peak instead", stacklevel=2)
        m = measure_matmul_peak(dtype, seconds=1.0, device=device)
        return PeakChoice(m.flops_per_s, name, f"measured matmul peak of {name!r}")
    return cpu_peak(dtype)


def cpu_memory() -> dict[str, float]:
    """This host's RAM bytes and measured copy bandwidth (bytes/s), cached beside the CPU
    peak: the figures `flopgrid diagnose` and the perf model use as the `cpu` chip's
    memory (a CPU has no HBM; its RAM plays that part)."""
    import os

    record = load_cpu_peak() or {}
    if not record.get("memory_bytes_per_s"):
        from flopgrid.meter.peak import measure_memory_bandwidth

        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        details = {k: v for k, v in record.items() if k not in ("peak_flops", "machine", "processor")}
        details.update(memory_bytes=total, memory_bytes_per_s=measure_memory_bandwidth())
        save_cpu_peak(record.get("peak_flops", {}), details)
        record = load_cpu_peak() or details
    return {"memory_bytes": float(record["memory_bytes"]), "memory_bytes_per_s": float(record["memory_bytes_per_s"])}
