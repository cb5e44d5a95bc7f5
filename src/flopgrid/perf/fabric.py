"""Link model: alpha-beta collectives on a two-level fabric (scale-up domain, scale-out).

Times follow the ring / hierarchical algorithms NCCL uses (Thakur et al. 2005; NCCL
docs "performance"): an all-reduce of S bytes over g ranks moves 2(g-1)/g * S per rank,
an all-gather or reduce-scatter (g-1)/g * S. A group of g ranks with stride `stride`
(the product of the plan dimensions placed inside it) has n_in = min(g, domain/stride)
members per scale-up domain; the collective runs hierarchically: the intra-domain part at
scale-up bandwidth, the inter-domain part (S/n_in per rank over g/n_in domains) at the
per-chip scale-out bandwidth, pipelined so that the slower part sets the time. All
functions take numpy arrays (one entry per plan).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopgrid.catalog.cluster import Cluster


@dataclass(frozen=True)
class Fabric:
    """The figures of a cluster the model uses (bytes/s, FLOP/s, seconds, bytes)."""

    peak_flops: float
    hbm_bytes: float
    hbm_bytes_per_s: float
    scale_up_bytes_per_s: float
    scale_out_bytes_per_s: float
    scale_up_latency_s: float
    scale_out_latency_s: float
    domain: int
    elem_bytes: float  # activation element size for the dtype

    @staticmethod
    def of(cluster: Cluster, dtype: str = "bf16") -> "Fabric":
        acc = cluster.accelerator
        return Fabric(
            peak_flops=acc.peak(dtype),
            hbm_bytes=acc.hbm_bytes,
            hbm_bytes_per_s=acc.hbm_bytes_per_s,
            scale_up_bytes_per_s=cluster.scale_up_bw,
            scale_out_bytes_per_s=cluster.scale_out_bytes_per_s,
            scale_up_latency_s=cluster.scale_up_latency_s,
            scale_out_latency_s=cluster.scale_out_latency_s,
            domain=cluster.scale_up_domain,
            elem_bytes=4.0 if dtype in ("fp32", "tf32") else 2.0,
        )


def members_per_domain(group: np.ndarray, stride: np.ndarray, domain: int) -> np.ndarray:
    """Ranks of a group (size `group`, rank stride `stride`) inside one scale-up domain."""
    per = np.maximum(domain // np.maximum(stride, 1), 1)
    return np.minimum(group, per)


def _two_level(volume_factor_fn, size_bytes, group, stride, fab: Fabric, link_eff: float) -> np.ndarray:
    g = np.asarray(group, dtype=float)
    n_in = members_per_domain(np.asarray(group), np.asarray(stride), fab.domain).astype(float)
    n_out = g / n_in
    intra = volume_factor_fn(n_in) * size_bytes / (fab.scale_up_bytes_per_s * link_eff)
    inter = volume_factor_fn(n_out) * (size_bytes / n_in) / (fab.scale_out_bytes_per_s * link_eff)
    latency = (n_in - 1) * fab.scale_up_latency_s + 2 * np.log2(np.maximum(n_out, 1)) * fab.scale_out_latency_s
    # NCCL pipelines the chunks of a ring / tree through the NVLink hops and the NIC hop at
    # once, so the slower of the two sets the time (its bus bandwidth is the bottleneck
    # link's: nccl-tests doc/PERFORMANCE.md); latency adds the ring steps inside the domain
    # and the tree depth across domains
    return np.where(g > 1, np.maximum(intra, inter) + latency, 0.0)


def all_reduce_s(size_bytes, group, stride, fab: Fabric, link_eff: float) -> np.ndarray:
    """Seconds for a (hierarchical ring) all-reduce of `size_bytes` per rank."""
    return _two_level(lambda n: 2 * (n - 1) / n, size_bytes, group, stride, fab, link_eff)


def all_gather_s(size_bytes, group, stride, fab: Fabric, link_eff: float) -> np.ndarray:
    """Seconds for an all-gather (or reduce-scatter) whose full result is `size_bytes`."""
    return _two_level(lambda n: (n - 1) / n, size_bytes, group, stride, fab, link_eff)


def all_to_all_s(size_bytes, group, stride, fab: Fabric, link_eff: float) -> np.ndarray:
    """Seconds for an all-to-all where each rank sends `size_bytes` spread evenly over the
    group: the share bound for ranks in the same domain goes over scale-up links, the rest
    over the rank's scale-out NIC."""
    g = np.asarray(group, dtype=float)
    n_in = members_per_domain(np.asarray(group), np.asarray(stride), fab.domain).astype(float)
    leave = size_bytes * (g - 1) / np.maximum(g, 1)
    frac_in = (n_in - 1) / np.maximum(g - 1, 1)
    t = leave * (frac_in / fab.scale_up_bytes_per_s + (1 - frac_in) / fab.scale_out_bytes_per_s) / link_eff
    latency = np.where(n_in < g, fab.scale_out_latency_s, fab.scale_up_latency_s) * np.log2(np.maximum(g, 1))
    return np.where(g > 1, t + latency, 0.0)


def p2p_s(size_bytes, crosses_domain, fab: Fabric, link_eff: float) -> np.ndarray:
    """Seconds for one point-to-point send between neighbouring pipeline stages."""
    bw = np.where(crosses_domain, fab.scale_out_bytes_per_s, fab.scale_up_bytes_per_s) * link_eff
    lat = np.where(crosses_domain, fab.scale_out_latency_s, fab.scale_up_latency_s)
    return size_bytes / bw + lat
