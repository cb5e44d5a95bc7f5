"""Files given to or written by the CLI: wrong kinds of file are one-line errors (exit 2),
and nothing is half-written."""

from __future__ import annotations

import json
from conftest import assert_bad_input




def test_out_paths_that_cannot_be_written(cli, tmp_path):
    assert_bad_input(cli("scenario", "generate", "--pools", "2", "--bids", "3", "--intervals", "2", "--out", str(tmp_path)),
         "cannot write", "Is a directory")
    good = tmp_path / "s.json"
    assert cli("scenario", "generate", "--pools", "2", "--bids", "3", "--intervals", "2", "--out", str(good)).returncode == 0
    before = good.read_text()
    assert_bad_input(cli("clear", str(good), "--out", str(tmp_path / "missing-dir" / "r.json")), "cannot write")
    assert good.read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_settle_rejects_a_file_that_is_not_a_clear_result(cli, tmp_path):
    sc = tmp_path / "s.json"
    cli("scenario", "generate", "--pools", "2", "--bids", "3", "--intervals", "2", "--out", str(sc))
    delivery = tmp_path / "d.json"
    delivery.write_text(json.dumps({"allocations": []}))
    assert_bad_input(cli("settle", str(sc), str(sc), str(delivery)), "allocations", "flopgrid clear --json")
    res = tmp_path / "r.json"
    res.write_text(json.dumps({"allocations": [{"bid": "zz", "pool": "p", "chips": 1, "start": 0, "intervals": 1,
                                                "payment_usd": 1.0}]}))
    assert_bad_input(cli("settle", str(sc), str(res), str(delivery)), "'zz'", "not in the scenario")


def test_simulate_report_and_compare_arguments(cli, tmp_path):
    trace = tmp_path / "t.csv"
    assert cli("trace", "synth", "--jobs", "20", "--days", "1", "--out", str(trace)).returncode == 0
    keep = tmp_path / "keep.csv"
    keep.write_text("precious")
    assert_bad_input(cli("simulate", "--trace", str(trace), "--report", str(keep)), "is a file")
    assert keep.read_text() == "precious"
    assert_bad_input(cli("simulate", "--trace", str(trace), "--compare", "fifo,,las"), "empty policy name")
