"""A real Lightning fit of the bundled tiny GPT on CPU, metered by
`FlopgridLightningCallback`: the report's MFU equals tokens/s x FLOPs per token / peak
computed by the test itself (its own callback's clocks and token count, FLOPs
hand-counted from the module's weights, the peak it measured) within 1%; the
`ModelCheckpoint` saves land in checkpoint badput."""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning.pytorch")

from metered_runs import CFG, corpus, hand_flops_per_token, isolated_cache, measure_and_cache_peak  # noqa: E402

from flopgrid.diagnose import diagnose  # noqa: E402
from flopgrid.examples.gpt import GPT  # noqa: E402
from flopgrid.meter import build_report, read_events  # noqa: E402
from flopgrid.meter.lightning import FlopgridLightningCallback  # noqa: E402

STEPS, BATCH, EVERY = 40, 8, 20


class TinyGPT(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.gpt = GPT(CFG)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return self.gpt(x, y)[1]

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-3)


class OwnClock(L.Callback):
    def __init__(self) -> None:
        self.steps_s, self.t_begin, self.t_end, self._t, self.tokens = 0.0, 0.0, 0.0, 0.0, 0

    def on_train_start(self, trainer, pl_module):
        self.t_begin = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps_s += time.perf_counter() - self._t
        self.tokens += batch[0].numel()

    def on_train_end(self, trainer, pl_module):
        self.t_end = time.perf_counter()


@pytest.fixture(scope="module")
def lightning_run(tmp_path_factory):
    with isolated_cache(tmp_path_factory):
        peak = measure_and_cache_peak()
        d = tmp_path_factory.mktemp("pl")
        torch.manual_seed(0)
        data = corpus()
        starts = torch.randint(0, data.numel() - CFG.seq_len - 1, (STEPS * BATCH,), generator=torch.Generator().manual_seed(0))
        x = torch.stack([data[s:s + CFG.seq_len] for s in starts.tolist()])
        y = torch.stack([data[s + 1:s + 1 + CFG.seq_len] for s in starts.tolist()])
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH)
        module = TinyGPT()
        own = OwnClock()
        meter_cb = FlopgridLightningCallback(d / "pl.jsonl", model_spec=CFG.model_spec(), dtype="fp32", device="cpu",
                                             truncate=True, framework="lightning")
        ckpt = L.callbacks.ModelCheckpoint(dirpath=d / "ckpt", every_n_train_steps=EVERY, save_top_k=-1)
        trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=STEPS, logger=False, enable_progress_bar=False,
                            enable_model_summary=False, callbacks=[own, meter_cb, ckpt])
        trainer.fit(module, loader)
    return {"log": d / "pl.jsonl", "peak": peak, "own": own, "ckpts": len(list((d / "ckpt").glob("*.ckpt"))),
            "fpt": hand_flops_per_token(module.gpt, CFG.n_layers, CFG.d_model, CFG.seq_len)}


def test_lightning_mfu_matches_the_tests_own_throughput(lightning_run):
    rep = build_report(read_events(lightning_run["log"]))
    own, peak, fpt = lightning_run["own"], lightning_run["peak"], lightning_run["fpt"]
    assert own.tokens == STEPS * BATCH * CFG.seq_len == rep.useful_tokens
    assert rep.steps == STEPS
    assert rep.model_flops_per_token == fpt
    assert rep.mfu == pytest.approx(own.tokens / own.steps_s * fpt / peak, rel=0.01)  # over productive time
    d = diagnose(read_events(lightning_run["log"]))
    assert d.gap.measured_mfu == pytest.approx(own.tokens / (own.t_end - own.t_begin) * fpt / peak, rel=0.01)
    assert d.facts.framework == "lightning"


def test_model_checkpoint_saves_are_checkpoint_badput(lightning_run):
    rep = build_report(read_events(lightning_run["log"]))
    saves = [e for e in read_events(lightning_run["log"]).events if e["event"] == "checkpoint_save"]
    assert lightning_run["ckpts"] == STEPS // EVERY == len(saves)
    assert rep.badput_s["checkpoint_save"] == pytest.approx(sum(e["duration_s"] for e in saves), rel=1e-9)
    assert rep.badput_s["checkpoint_save"] > 0
    assert rep.productive_s + sum(rep.badput_s.values()) == pytest.approx(rep.wall_s, rel=1e-9)
