"""Real CPU training runs of the bundled GPT under the Meter, checked against figures the
test measures itself (its own clocks around the loop body, its own token count, FLOPs
per token hand-counted from the torch module's weights, the CPU peak it measured)."""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch")

from flopgrid.catalog.cpu_peak import save_cpu_peak  # noqa: E402
from flopgrid.examples.gpt import SIZES, GPT, ByteBatches, byte_corpus  # noqa: E402
from flopgrid.meter import BADPUT_CATEGORIES, build_report, read_events  # noqa: E402
from flopgrid.meter.meter import Meter  # noqa: E402
from flopgrid.meter.peak import measure_matmul_peak  # noqa: E402

CFG = SIZES["tiny"]


@pytest.fixture(scope="module")
def measured_peak(tmp_path_factory):
    """This machine's 1-thread fp32 matmul peak, measured now and cached for the meter."""
    torch.set_num_threads(1)
    m = measure_matmul_peak("fp32", size=512, seconds=0.5, device="cpu")
    return m.flops_per_s


def _hand_flops_per_token(model: torch.nn.Module) -> float:
    """6 x (weights of every nn.Linear, the tied head once) + 12·L·d_model·T (PaLM App. B)."""
    linear_params = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 6.0 * linear_params + 12.0 * CFG.n_layers * CFG.d_model * CFG.seq_len


def _run(tmp_path, peak, steps, stall_s=0.0, checkpoint_every=0, ckpt_sleep_s=0.0, batch_size=16):
    """Train under the meter; return (report, own figures measured by the test)."""
    torch.set_num_threads(1)
    save_cpu_peak({"fp32": peak}, {"threads": 1})
    own = {"compute_s": 0.0, "tokens": 0, "ckpt_s": 0.0, "ckpts": 0, "data_s": 0.0}
    t_outer = time.perf_counter()
    meter = Meter(tmp_path / "run.jsonl", model_spec=CFG.model_spec(), dtype="fp32", device="cpu", truncate=True)
    torch.manual_seed(0)
    model = GPT(CFG)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = ByteBatches(byte_corpus(), batch_size, CFG.seq_len, stall_s=stall_s)

    def batches():  # the test's own clock on the data wait
        while True:
            t = time.perf_counter()
            batch = next(loader)
            own["data_s"] += time.perf_counter() - t
            yield batch

    for step, (x, y) in meter.steps(batches(), stop=steps):
        t_body = time.perf_counter()
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        own["tokens"] += x.numel()
        ckpt = 0.0
        if checkpoint_every and (step + 1) % checkpoint_every == 0:
            with meter.checkpoint(step):
                t_ck = time.perf_counter()
                torch.save({"model": model.state_dict(), "step": step}, tmp_path / "ckpt.pt")
                time.sleep(ckpt_sleep_s)  # slow storage
                ckpt = time.perf_counter() - t_ck
            own["ckpt_s"] += ckpt
            own["ckpts"] += 1
        own["compute_s"] += time.perf_counter() - t_body - ckpt
    own["wall_before_close_s"] = time.perf_counter() - t_outer
    meter.close()
    own["wall_s"] = time.perf_counter() - t_outer
    own["flops_per_token"] = _hand_flops_per_token(model)
    return build_report(read_events(meter.path)), own


def test_cpu_run_mfu_matches_independent_throughput_and_measured_peak(tmp_path, measured_peak):
    rep, own = _run(tmp_path, measured_peak, steps=30)
    assert rep.steps == 30 and rep.chips == 1
    assert rep.peak_flops_per_chip == measured_peak  # the peak recorded in the log is the measured one
    assert rep.model_flops_per_token == own["flops_per_token"]  # spec == the module's own weights
    own_tps = own["tokens"] / own["compute_s"]
    expected_mfu = own_tps * own["flops_per_token"] / (1 * measured_peak)
    assert rep.useful_tokens == own["tokens"] == 30 * 16 * CFG.seq_len
    assert rep.tokens_per_second == pytest.approx(own_tps, rel=0.01)
    assert rep.mfu == pytest.approx(expected_mfu, rel=0.01)
    # the identity on the report's own fields is exact
    assert rep.mfu == pytest.approx(rep.tokens_per_second * rep.model_flops_per_token / (rep.chips * rep.peak_flops_per_chip), rel=1e-12)
    assert 0.0 < rep.mfu < 1.0


def test_cpu_run_time_adds_up_to_the_wall_clock(tmp_path, measured_peak):
    rep, own = _run(tmp_path, measured_peak, steps=20)
    total = rep.productive_s + sum(rep.badput_s.values())
    assert total == pytest.approx(rep.wall_s, rel=1e-9)
    # the test's own clock around everything (close() ends with an fsync after the last event)
    assert 0.99 * own["wall_before_close_s"] <= rep.wall_s <= own["wall_s"]
    assert 0 <= rep.badput_s["other"] < 0.05 * rep.wall_s  # the remainder hides nothing big
    assert rep.goodput_fraction == pytest.approx(rep.productive_s / rep.wall_s)
    assert set(rep.badput_s) == set(BADPUT_CATEGORIES)


def test_injected_stall_and_checkpoints_land_in_their_categories(tmp_path, measured_peak):
    steps, stall_s, every, ckpt_sleep_s = 20, 0.03, 5, 0.05
    rep, own = _run(tmp_path, measured_peak, steps=steps, stall_s=stall_s, checkpoint_every=every,
                    ckpt_sleep_s=ckpt_sleep_s)
    assert rep.badput_s["data_loading"] == pytest.approx(own["data_s"], rel=0.10)
    assert rep.badput_s["data_loading"] >= steps * stall_s  # sleep never undershoots
    assert rep.badput_s["data_loading"] == pytest.approx(steps * stall_s, rel=0.25)
    assert own["ckpts"] == steps // every
    assert rep.badput_s["checkpoint_save"] == pytest.approx(own["ckpt_s"], rel=0.10)
    assert rep.badput_s["checkpoint_save"] >= own["ckpts"] * ckpt_sleep_s
    # neither leaks into productive time or the remainder
    assert rep.productive_s == pytest.approx(own["compute_s"], rel=0.05)
    assert rep.badput_s["other"] < 0.05 * rep.wall_s
    assert rep.badput_s["wasted_progress"] == 0 and rep.badput_s["disruption_recovery"] == 0
    assert rep.productive_s + sum(rep.badput_s.values()) == pytest.approx(rep.wall_s, rel=1e-9)


def test_flop_counter_agrees_with_analytic_count_and_warns_on_a_wrong_spec(tmp_path, measured_peak):
    torch.set_num_threads(1)
    model = GPT(CFG)
    batches = ByteBatches(byte_corpus(), 2, CFG.seq_len)

    def one_step(spec, name):
        meter = Meter(tmp_path / name, model_spec=spec, device="cpu", count_flops=True, truncate=True,
                      peak_flops_per_chip=measured_peak)
        for _, (x, y) in meter.steps(batches, stop=1):
            model(x, y)[1].backward()
        meter.close()
        return next(e for e in read_events(meter.path).events if e["event"] == "flop_count")

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the right spec
        right = one_step(CFG.model_spec(), "right.jsonl")
    assert right["counted_flops_per_token"] == pytest.approx(right["analytic_flops_per_token"], rel=1e-9)
    wrong_spec = CFG.model_spec().model_copy(update={"d_ff": 8 * CFG.d_model})
    with pytest.warns(UserWarning, match="differ from the analytic count"):
        wrong = one_step(wrong_spec, "wrong.jsonl")
    assert wrong["rel_diff"] > 0.10 or wrong["rel_diff"] < -0.10
