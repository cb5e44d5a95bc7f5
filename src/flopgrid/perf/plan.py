"""The parallel plan (DESIGN.md "Plan") and its validity rules.

A plan splits `chips = tp * pp * dp * cp`; expert parallelism `ep` is carved out of the
data-parallel ranks (Megatron-Core: expert layers re-use the dp x cp ranks), so `ep`
divides `dp * cp` and the number of experts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flopgrid.catalog.model_spec import ModelSpec
from flopgrid.errors import UserInputError

RECOMPUTE_CHOICES: tuple[str, ...] = ("none", "selective", "full")
RECOMPUTE_CODE: dict[str, int] = {name: i for i, name in enumerate(RECOMPUTE_CHOICES)}
ZERO_STAGES: tuple[int, ...] = (0, 1, 2, 3)
PLAN_INT_FIELDS: tuple[str, ...] = ("tp", "pp", "dp", "cp", "ep", "micro_batch", "interleave", "zero")


@dataclass(frozen=True)
class Plan:
    """How one training job is split over its chips.

    tp: tensor parallel (Megatron column/row split), pp: pipeline stages, dp: data
    parallel replicas, cp: context parallel (ring attention over the sequence), ep:
    expert parallel (inside dp x cp), micro_batch: sequences per micro-batch,
    interleave: virtual pipeline chunks per stage, recompute: activation recomputation,
    zero: ZeRO stage (3 = FSDP), sequence_parallel: Korthikanti et al. 2022 sequence
    parallelism of the norm/dropout regions over the tp ranks.
    """

    tp: int
    pp: int
    dp: int
    cp: int = 1
    ep: int = 1
    micro_batch: int = 1
    interleave: int = 1
    recompute: str = "none"
    zero: int = 0
    sequence_parallel: bool = False

    @property
    def chips(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def short(self) -> str:
        """A one-line human label, e.g. 'tp8 pp8 dp16 mb1 v3 rc=full z1 sp'."""
        parts = [f"tp{self.tp}", f"pp{self.pp}", f"dp{self.dp}"]
        if self.cp > 1:
            parts.append(f"cp{self.cp}")
        if self.ep > 1:
            parts.append(f"ep{self.ep}")
        parts += [f"mb{self.micro_batch}"]
        if self.interleave > 1:
            parts.append(f"v{self.interleave}")
        parts += [f"rc={self.recompute}", f"zero{self.zero}"]
        if self.sequence_parallel:
            parts.append("sp")
        return " ".join(parts)


def virtual_stage_layers(n_layers: int, n_virtual: int) -> tuple[int, int, int] | None:
    """Layers of the (first, middle, last) virtual pipeline stages, or None when impossible.

    When `n_virtual` divides the layers every stage holds n_layers / n_virtual. Otherwise
    the middle stages hold ceil(n_layers / n_virtual) and the first and last split the
    remainder, the first taking the larger half: the uneven split Megatron-Core exposes as
    --decoder-first/last-pipeline-num-layers and Llama 3 used (arXiv:2407.21783 §3.3.2:
    "we reduce one Transformer layer each from the first and the last stages" so the
    embedding and the output head balance them). Both ends need at least one layer."""
    if n_virtual < 1 or n_virtual > n_layers:
        return None
    if n_layers % n_virtual == 0 or n_virtual == 1:
        even = n_layers // n_virtual
        return even, even, even
    mid = -(-n_layers // n_virtual)
    rem = n_layers - (n_virtual - 2) * mid
    if rem < 2:
        return None
    first = -(-rem // 2)
    return first, mid, rem - first


def stage_layers(n_layers: int, pp: int, interleave: int = 1) -> tuple[int, ...] | None:
    """Layers held by each of the `pp` physical stages (None when the split is impossible).

    With the interleaved schedule (Narayanan et al. 2021 §2.2.2) stage i holds virtual
    stages i, i+pp, ..., i+(v-1)pp, so the first physical stage holds the first virtual
    stage plus v-1 middle ones and the last holds the last virtual stage plus v-1 middle
    ones. Example: Llama 3 405B, 126 layers, pp 16, v 2: 32 virtual stages of 4 layers with
    3 on the first and last, so stages hold 7, 8 x 14, 7."""
    if pp < 1 or interleave < 1 or (pp == 1 and interleave > 1):
        return None
    split = virtual_stage_layers(n_layers, pp * interleave)
    if split is None:
        return None
    first, mid, last = split
    if pp == 1:
        return (n_layers,)
    rest = (interleave - 1) * mid
    return (first + rest, *([interleave * mid] * (pp - 2)), last + rest)


def global_batch_seqs(model: ModelSpec, global_batch_tokens: int) -> int:
    """Sequences per optimizer step; the batch must be whole sequences."""
    if global_batch_tokens <= 0:
        raise UserInputError(f"global batch must be > 0 tokens, got {global_batch_tokens}")
    if global_batch_tokens % model.seq_len:
        raise UserInputError(
            f"global batch {global_batch_tokens} tokens is not a whole number of sequences of "
            f"seq_len {model.seq_len}"
        )
    return global_batch_tokens // model.seq_len


def check_plan(model: ModelSpec, chips: int, plan: Plan, global_batch_tokens: int) -> None:
    """Raise UserInputError naming the first constraint `plan` breaks."""
    for name in ("tp", "pp", "dp", "cp", "ep", "micro_batch", "interleave"):
        value = getattr(plan, name)
        if not isinstance(value, int) or value < 1:
            raise UserInputError(f"{name} must be an integer >= 1, got {value!r}")
    if plan.recompute not in RECOMPUTE_CHOICES:
        raise UserInputError(f"recompute {plan.recompute!r} is not one of: {', '.join(RECOMPUTE_CHOICES)}")
    if plan.zero not in ZERO_STAGES:
        raise UserInputError(f"zero must be one of 0, 1, 2, 3, got {plan.zero!r}")
    if plan.chips != chips:
        raise UserInputError(
            f"tp*pp*dp*cp = {plan.tp}*{plan.pp}*{plan.dp}*{plan.cp} = {plan.chips} must equal chips ({chips})"
        )
    if model.n_heads % plan.tp:
        raise UserInputError(f"tp ({plan.tp}) must divide n_heads ({model.n_heads})")
    if plan.pp > model.n_layers:
        raise UserInputError(f"pp ({plan.pp}) must be <= n_layers ({model.n_layers})")
    if plan.interleave > 1 and plan.pp == 1:
        raise UserInputError("interleave > 1 needs pp > 1 (virtual stages of a pipeline)")
    if stage_layers(model.n_layers, plan.pp, plan.interleave) is None:
        raise UserInputError(
            f"pp*interleave ({plan.pp}*{plan.interleave}) virtual stages of {-(-model.n_layers // (plan.pp * plan.interleave))} "
            f"layers leave fewer than one layer each for the first and last of {model.n_layers} layers"
        )
    if model.seq_len % plan.cp:
        raise UserInputError(f"cp ({plan.cp}) must divide seq_len ({model.seq_len})")
    if model.moe is None:
        if plan.ep != 1:
            raise UserInputError(f"ep ({plan.ep}) must be 1 for a dense model")
    else:
        if model.moe.n_experts % plan.ep:
            raise UserInputError(f"ep ({plan.ep}) must divide n_experts ({model.moe.n_experts})")
        if (plan.dp * plan.cp) % plan.ep:
            raise UserInputError(f"ep ({plan.ep}) must divide dp*cp ({plan.dp * plan.cp})")
    seqs = global_batch_seqs(model, global_batch_tokens)
    if seqs % (plan.dp * plan.micro_batch):
        raise UserInputError(
            f"global batch of {seqs} sequences must divide by dp*micro_batch ({plan.dp}*{plan.micro_batch})"
        )
    if plan.interleave > 1 and (seqs // (plan.dp * plan.micro_batch)) % plan.pp:
        raise UserInputError(
            f"interleaved schedule: micro-batches per step ({seqs // (plan.dp * plan.micro_batch)}) must divide "
            f"by pp ({plan.pp})"
        )
