"""The calibration constants of the performance model.

Fitted once, on ../shared/reference/perf_measured.csv only (Korthikanti et al. 2022
Table 5 step times and Megatron-LM SC21 Table 1 TFLOP/s per GPU, NVIDIA Selene), with
the same values for every row and every accelerator; a new chip brings only its
datasheet figures (peak, HBM, links). `bench/perf_calibrate.py` refits them and prints
the residuals; `bench/perf_accuracy.py` prints the per-row error.

Constants that are not fitted carry their source.

Fit (bench/perf_calibrate.py, 18 rows): Korthikanti Table 5 step time mean |error| 3.8%,
max 7.3%; SC21 Table 1 TFLOP/s per GPU mean 4.2%, max 7.2%. The two sources disagree by
~8% on the same 1T configuration (177 vs 163 TFLOP/s per GPU: the 2022 code base is
faster), which bounds what one set of constants can reach on both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    """Efficiency constants (dimensionless unless the name says a unit)."""

    # GEMM efficiency curve: eff(x) = gemm_eff_max * x / (x + gemm_half_dim_elems), x the
    # smallest of the GEMM's three dimensions after sharding (tile/wave quantisation and
    # low arithmetic intensity hurt small GEMMs). Fitted.
    gemm_eff_max: float = 0.746
    gemm_half_dim_elems: float = 37.6
    # Fraction of HBM bandwidth that memory-bound kernels (softmax, dropout, norms,
    # activations, optimizer) reach. Fitted.
    hbm_eff: float = 0.645
    # Fraction of link bandwidth NCCL collectives reach (bus bandwidth / link bandwidth).
    # Fitted.
    link_eff: float = 0.682
    # Fraction of the last micro-batch's backward that hides data-parallel gradient
    # reduction. Fitted: ~0, as Megatron-LM of 2021-22 (the calibration runs) reduced
    # gradients after the backward; frameworks that overlap (PyTorch DDP buckets) are
    # therefore predicted conservatively. FSDP gathers are prefetched: modelled as hidden
    # behind the micro-batch's compute up to its length (not this constant).
    dp_overlap: float = 0.0044
    # FlashAttention-2 fwd+bwd throughput as a fraction of dense peak: Dao 2023
    # (arXiv:2307.08691) §4.1 reports 50-73% of peak on A100; the lower-middle is taken.
    flash_eff: float = 0.55
    # FlashAttention backward / forward time: the backward runs 5 matmuls against the
    # forward's 2 (it recomputes the scores), Dao 2023 §3.1.2.
    flash_bwd_over_fwd: float = 2.5
    # Memory allowance: CUDA context, NCCL buffers and cuBLAS workspace (bytes, a stated
    # allowance: PyTorch + NCCL on one GPU typically hold 1-2 GiB before any tensor), plus
    # a caching-allocator fragmentation fraction of the tensors held.
    workspace_bytes: float = 2.0 * 2**30
    fragmentation: float = 0.10


CALIBRATION = Calibration()
