"""A believable ceiling: the best MFU published for a chip at a scale.

The planner searches tens of thousands of plans and the best of them sits where the
model is least tested. No plan is reported above the best MFU anyone has published for
that chip at that scale (within a factor of 8 in chips either way) by more than the band of
that kind of run (flopgrid.perf.band): beyond it the prediction is capped, the capped
seconds appear in the breakdown as `beyond_published`, and `ceiling_note` says which
published run set the ceiling. Chips without published runs are not capped (their band
is already the widest).

Every row below is a published MFU (model FLOPs, no recompute counted) with its source.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALE_WINDOW = 8.0


@dataclass(frozen=True)
class PublishedMfu:
    hardware: tuple[str, ...]
    chips: int
    mfu: float
    source: str


PUBLISHED_MFU: tuple[PublishedMfu, ...] = (
    PublishedMfu(("a100-80gb", "a100-40gb"), 8, 0.6423, "llm-foundry README, MPT-7B on 8 A100 80GB (64.2%)"),
    PublishedMfu(("a100-80gb", "a100-40gb"), 64, 0.611,
                 "torchtitan docs/performance.md, Llama 2 13B FSDP2 on 64 A100 (61.1%)"),
    PublishedMfu(("a100-80gb", "a100-40gb"), 280, 0.5605,
                 "Korthikanti et al. 2022 Table 5, MT-NLG 530B selective recompute on 280 A100 (37.83 s: 56.0%)"),
    PublishedMfu(("a100-80gb", "a100-40gb"), 512, 0.5627,
                 "Korthikanti et al. 2022 Table 5, Megatron 1T selective recompute on 512 A100 (71.49 s: 56.3%)"),
    PublishedMfu(("a100-80gb", "a100-40gb"), 12288, 0.552, "MegaScale (NSDI'24), 175B on 12,288 A100 (55.2%)"),
    PublishedMfu(("h100-sxm", "h200"), 8, 0.4644, "llm-foundry README, MPT-7B on 8 H100 (46.4%)"),
    PublishedMfu(("h100-sxm", "h200"), 6144, 0.47,
                 "Megatron-LM README (2024): up to 47% MFU on H100, GPT 2B-462B weak scaling to 6,144 GPUs"),
    PublishedMfu(("h100-sxm", "h200"), 8192, 0.43, "Llama 3 (arXiv:2407.21783) Table 4, 405B on 8,192 H100 (43%)"),
    PublishedMfu(("h100-sxm", "h200"), 16384, 0.41, "Llama 3 Table 4, 405B on 16,384 H100 (41%)"),
    PublishedMfu(("tpu-v5p",), 64, 0.7147, "MaxText configs/v5p README, 32B on v5p-128 (71.47%)"),
    PublishedMfu(("tpu-v5p",), 256, 0.6883, "MaxText configs/v5p README, 128B on v5p-512 (68.83%)"),
    PublishedMfu(("tpu-v5p",), 2048, 0.648, "MaxText configs/v5p README, 1024B on v5p-4096 (64.80%)"),
    PublishedMfu(("tpu-v4",), 6144, 0.462, "PaLM (Chowdhery et al. 2022) Table 3, 540B on 6,144 TPU v4 (46.2%)"),
)


def published_ceiling(hardware: str, chips: int) -> PublishedMfu | None:
    """The best published MFU for `hardware` within a factor SCALE_WINDOW of `chips`."""
    near = [p for p in PUBLISHED_MFU
            if hardware in p.hardware and chips / SCALE_WINDOW <= p.chips <= chips * SCALE_WINDOW]
    return max(near, key=lambda p: p.mfu) if near else None
