"""The dispatcher's pure parts (no Ray): who is charged for a lost gang, outage arithmetic,
backoff, the job entry contract, and the CLI's refusals before anything starts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flopgrid.dispatch import Failure, Lease, RankOutcome, attribute, backoff_s, load_entry
from flopgrid.errors import UserInputError

KINDS = ["ok", "job_exception", "peer_lost", "actor_death", "node_death", "heartbeat_loss", "stopped"]


def test_a_dead_node_explains_its_peers_errors_and_the_provider_is_charged():
    outs = [RankOutcome(0, "peer_lost", "Connection closed by peer"), RankOutcome(1, "node_death", "node died"),
            RankOutcome(2, "job_exception", "RuntimeError in a collective")]
    cause, who = attribute(outs)
    assert (cause, who.rank) == ("node_death", 1)
    assert Failure(0, cause, "", 0.0).party == "provider"


def test_only_the_jobs_own_exception_is_the_buyers():
    cause, who = attribute([RankOutcome(0, "ok"), RankOutcome(1, "job_exception", "ValueError: bad batch")])
    assert cause == "job_exception" and Failure(0, cause, "", 0.0).party == "buyer"
    assert attribute([RankOutcome(0, "peer_lost"), RankOutcome(1, "stopped")])[0] == "collective_failure"
    assert attribute([RankOutcome(0, "ok"), RankOutcome(1, "ok")]) is None


@given(st.lists(st.sampled_from(KINDS), min_size=1, max_size=8))
def test_attribution_prefers_the_infrastructure(kinds):
    got = attribute([RankOutcome(i, k) for i, k in enumerate(kinds)])
    if all(k == "ok" for k in kinds):
        assert got is None
        return
    cause, who = got
    assert kinds[who.rank] != "ok"
    infra = [k for k in ("node_death", "actor_death", "heartbeat_loss") if k in kinds]
    if infra:
        assert cause == infra[0]
    elif "job_exception" in kinds:
        assert cause == "job_exception"
    else:
        assert cause == "collective_failure"


def test_outage_is_lost_work_plus_downtime_and_only_the_providers_counts():
    lease = Lease(7, "b", "p", 2, 3600.0)
    lease.failures = [Failure(1, "actor_death", "", 0.0, lost_work_s=3.0, downtime_s=4.5),
                      Failure(2, "job_exception", "", 0.0, lost_work_s=10.0, downtime_s=2.0),
                      Failure(3, "node_death", "", 0.0, lost_work_s=0.5, downtime_s=1.0)]
    assert lease.provider_outage_s() == pytest.approx(3.0 + 4.5 + 0.5 + 1.0)
    assert lease.buyer_failures() == 1
    d = lease.as_dict()
    assert d["provider_outage_s"] == pytest.approx(9.0) and [f["party"] for f in d["failures"]] == \
        ["provider", "buyer", "provider"]


def test_backoff_doubles_and_is_capped():
    assert [backoff_s(r, 1.0, 5.0) for r in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize("entry, needle", [("nocolon", "use module:function"),
                                           ("no_such_module_xyz:train", "cannot import"),
                                           ("flopgrid.errors:nothing_here", "no function")])
def test_a_bad_job_entry_is_refused_naming_it(entry, needle):
    with pytest.raises(UserInputError, match=needle) as err:
        load_entry(entry)
    assert entry in str(err.value)


def test_the_bundled_job_loads():
    pytest.importorskip("torch", reason="the bundled job trains a PyTorch model (flopgrid[meter])")
    assert callable(load_entry("flopgrid.examples.gang_gpt:train"))


@pytest.mark.parametrize("args, needle", [(["--engine", "slurm"], "--engine 'slurm'"),
                                          (["--params", "[1]"], "--params"),
                                          (["--job", "no_such_module_xyz:f"], "no_such_module_xyz")])
def test_dispatch_cli_refuses_bad_input_before_starting_anything(cli, args, needle):
    from conftest import assert_bad_input

    assert_bad_input(cli("dispatch", "--market", "m1", "--server", "http://127.0.0.1:9", *args), needle)


def test_dispatch_cli_says_when_the_server_cannot_be_reached(cli):
    r = cli("dispatch", "--market", "m1", "--server", "http://127.0.0.1:9", "--key", "k")
    assert r.returncode == 1 and "cannot reach" in r.stderr and "Traceback" not in r.stderr
