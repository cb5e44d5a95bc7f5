"""A real Hugging Face Trainer run (a tiny GPT-2 built from a config, no download) on
CPU, metered by `FlopgridCallback`: the report's MFU equals tokens/s x FLOPs per token /
peak computed by the test itself (its own callback's clocks, its own token count, FLOPs
hand-counted from the module's weights, the peak it measured) within 1%."""

from __future__ import annotations

import json
import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from metered_runs import hand_flops_per_token, isolated_cache, measure_and_cache_peak  # noqa: E402

from flopgrid.diagnose import diagnose  # noqa: E402
from flopgrid.meter import build_report, read_events  # noqa: E402
from flopgrid.meter.hf import FlopgridCallback  # noqa: E402

STEPS, BATCH, SEQ, LAYERS, D = 40, 8, 64, 2, 64


class OwnClock(transformers.TrainerCallback):
    """The test's clocks: the training window and each optimizer step."""

    def __init__(self) -> None:
        self.steps_s, self.t_begin, self.t_end, self._t = 0.0, 0.0, 0.0, 0.0

    def on_train_begin(self, args, state, control, **kw):
        self.t_begin = time.perf_counter()

    def on_step_begin(self, args, state, control, **kw):
        self._t = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        self.steps_s += time.perf_counter() - self._t

    def on_train_end(self, args, state, control, **kw):
        self.t_end = time.perf_counter()


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory):
    with isolated_cache(tmp_path_factory):
        peak = measure_and_cache_peak()
        d = tmp_path_factory.mktemp("hf")
        torch.manual_seed(0)
        cfg = transformers.GPT2Config(n_layer=LAYERS, n_embd=D, n_head=2, n_positions=SEQ, vocab_size=256)
        model = transformers.GPT2LMHeadModel(cfg)
        ids = torch.randint(0, 256, (STEPS * BATCH, SEQ), generator=torch.Generator().manual_seed(0))
        data = [{"input_ids": t, "labels": t} for t in ids]
        args = transformers.TrainingArguments(
            output_dir=str(d / "out"), per_device_train_batch_size=BATCH, max_steps=STEPS, report_to=[],
            logging_steps=10, save_strategy="steps", save_steps=20, use_cpu=True, dataloader_num_workers=0,
            disable_tqdm=True, learning_rate=1e-4)
        own = OwnClock()
        meter_cb = FlopgridCallback(d / "hf.jsonl", dtype="fp32", device="cpu", truncate=True,
                                    plan={"dp": 1}, framework="hf-trainer")
        transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[own, meter_cb]).train()
    return {"log": d / "hf.jsonl", "peak": peak, "own": own, "fpt": hand_flops_per_token(model, LAYERS, D, SEQ)}


def test_hf_trainer_mfu_matches_the_tests_own_throughput(hf_run):
    rep = build_report(read_events(hf_run["log"]))
    own, peak, fpt = hf_run["own"], hf_run["peak"], hf_run["fpt"]
    tokens = STEPS * BATCH * SEQ
    assert rep.steps == STEPS and rep.useful_tokens == tokens
    assert rep.model_flops_per_token == fpt  # the config's spec == the module's own weights
    assert rep.peak_flops_per_chip == peak
    assert rep.mfu == pytest.approx(tokens / own.steps_s * fpt / peak, rel=0.01)  # over productive time
    d = diagnose(read_events(hf_run["log"]))
    assert d.gap.measured_mfu == pytest.approx(tokens / (own.t_end - own.t_begin) * fpt / peak, rel=0.01)  # wall
    assert d.facts.framework == "hf-trainer" and d.facts.plan.dp == 1
    assert d.facts.checkpoints == STEPS // 20 and rep.badput_s["checkpoint_save"] > 0
    assert rep.productive_s + sum(rep.badput_s.values()) == pytest.approx(rep.wall_s, rel=1e-9)


def test_hf_log_diagnoses_on_the_cli(hf_run, cli):
    proc = cli("diagnose", str(hf_run["log"]), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["model"] == "gpt2" and r["framework"] == "hf-trainer" and r["checkpoints"] == 2
    assert sum(r["gap_parts"].values()) == pytest.approx(r["ceiling_mfu"] - r["measured_mfu"], abs=1e-12)
