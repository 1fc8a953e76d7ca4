"""The TSV helper process (seqzoo/tsv_process.py): text formatted there is the same bytes as text
formatted in the run's process, every chunk it was sent comes from it, and a helper that dies, a
table it cannot format, a stopped run and two runs at once lose nothing."""
from __future__ import annotations

import hashlib
import logging
import pickle
import signal
import threading
import time

import numpy as np
import pytest

import seqzoo
from seqzoo import api, outputs, tsv_process
from seqzoo.checkpoint import Stopped
from seqzoo.cli import main
from seqzoo.synthetic import make_gene_model_dataset, make_utr_dataset
from seqzoo.table import Table, text_column

pytestmark = pytest.mark.skipif(tsv_process.os.name != "posix", reason="the helper process is POSIX only")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """HAL with a random table of the published layout on donors of a synthetic genome."""
    out = tmp_path_factory.mktemp("tsvhelper")
    paths = make_gene_model_dataset(out, seed=11, n_genes=8, contig_length=110_000, variants_per_site=4)
    table = out / "hal.npz"
    np.savez(table, weights=np.random.default_rng(5).normal(0, 1, size=(4096, 8)))
    return dict(paths, model=seqzoo.load_model("HAL", weights=str(table)))


@pytest.fixture
def fresh(monkeypatch):
    """A helper of this test's own (the session's, if any, is back after the test)."""
    monkeypatch.setattr(tsv_process, "_helper", None)
    monkeypatch.setattr(tsv_process, "_failed", False)
    yield
    if tsv_process._helper is not None and not tsv_process._helper.broken:
        tsv_process._helper.close()


def started_helper() -> tsv_process.TsvHelper:
    with tsv_process.checkout() as helper:
        assert helper is not None
        deadline = time.monotonic() + 60
        while not helper.ready:
            assert time.monotonic() < deadline, "the helper did not start in 60 s"
            time.sleep(0.02)
    return helper


def score(data, out, **options):
    return seqzoo.score_vcf([("HAL", data["model"])], data["fasta"], data["vcf"], data["gtf"], out=out,
                            chunk_rows=5, **options)


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def count_text_writes(monkeypatch) -> list:
    written = []
    original = outputs.TableWriter.write_text

    def spy(self, data):
        written.append(len(data))
        return original(self, data)

    monkeypatch.setattr(outputs.TableWriter, "write_text", spy)
    return written


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz"])
def test_the_helpers_text_is_the_in_process_text_and_every_chunk_comes_from_it(data, tmp_path, fresh, monkeypatch,
                                                                             suffix):
    helper = started_helper()
    here = tmp_path / f"here{suffix}"
    score(data, here, tsv_process=False)
    written = count_text_writes(monkeypatch)
    there = tmp_path / f"there{suffix}"
    result = score(data, there, tsv_process=True)
    assert md5(there) == md5(here)
    assert result.summary["rows"] > 40 and len(written) >= 8  # chunks of 5+ rows
    assert helper.answered == len(written)  # each chunk's text came from the helper
    assert (tmp_path / f"there{suffix}.skipped.tsv").read_bytes() == (tmp_path / f"here{suffix}.skipped.tsv").read_bytes()


def test_a_helper_that_dies_mid_run_loses_nothing_and_is_not_used_again(data, tmp_path, fresh, monkeypatch, caplog):
    helper = started_helper()
    here = tmp_path / "here.tsv"
    score(data, here, tsv_process=False)
    sent = []
    original = tsv_process.TsvHelper.submit

    def submit_then_kill(self, *args):
        ticket = original(self, *args)
        sent.append(ticket)
        if len(sent) == 3:
            self._proc.kill()
            self._proc.wait()
        return ticket

    monkeypatch.setattr(tsv_process.TsvHelper, "submit", submit_then_kill)
    there = tmp_path / "there.tsv"
    with caplog.at_level(logging.WARNING, logger="seqzoo.tsv_process"):
        score(data, there, tsv_process=True)
    assert md5(there) == md5(here)
    assert sent[:3] == [1, 2, 3] and set(sent[3:]) == {None}  # formatted in-process from the failure on
    assert helper.broken and helper.answered <= 2
    assert "the TSV helper process failed (" in caplog.text and "formatting in this process from now on" in caplog.text
    with tsv_process.checkout() as again:
        assert again is None


def test_a_table_the_helper_cannot_format_raises_as_in_process_and_the_helper_goes_on(fresh):
    helper = started_helper()
    table = Table(2, {"a": text_column(["x", "y"]), "b": np.array([1.5, 2.0]), "v": np.zeros((2, 3))})
    with tsv_process.checkout() as held:
        assert held is helper
        ticket = helper.submit(table, ["a", "v"], False)  # a 2-d column has no TSV cell
        assert ticket is not None
        with pytest.raises(ValueError, match="could not broadcast"):
            helper.text(ticket, table, ["a", "v"], False)
        assert not helper.broken
        assert helper.submit(table, ["a", "missing"], False) is None  # not even sent: formatted (and raising) here
        ticket = helper.submit(table, ["b", "a"], False)
        assert helper.text(ticket, table, ["b", "a"], False) == b"1.5\tx\n2\ty\n"
    assert helper.answered == 1


def test_text_columns_travel_joined_unless_a_cell_is_not_plain_text():
    names = ["s", "nul", "mixed", "n", "empty"]
    table = Table(3, {"s": text_column(["a", "", "é\tb"]), "nul": text_column(["a\x00b", "c", "d"]),
                      "mixed": np.array(["a", None, 3], dtype=object), "n": np.array([1, 2, 3]),
                      "empty": text_column(["", "", ""])}, {"n": np.array([True, False, True])})
    n, columns, present = tsv_process._packed(table, names)
    assert (n, columns["s"], columns["empty"]) == (3, "a\x00\x00é\tb", "\x00\x00")
    assert columns["nul"] is table.columns["nul"] and columns["mixed"] is table.columns["mixed"]
    back = tsv_process._unpacked(pickle.loads(pickle.dumps((n, columns, present))))
    for name in names:
        assert back.columns[name].tolist() == table.columns[name].tolist()
    assert outputs.render_tsv(back, names, False) == outputs.render_tsv(table, names, False)


@pytest.mark.parametrize("where", ["writing", "building"])
def test_a_stopped_run_with_the_helper_resumes_to_the_same_bytes(data, tmp_path, fresh, monkeypatch, where):
    helper = started_helper()
    whole = tmp_path / "whole.tsv"
    score(data, whole, tsv_process=False)
    out = tmp_path / "part.tsv"
    built, in_flight = [], []
    original_chunks = api._chunks

    def chunks(*args, **kwargs):
        for chunk in original_chunks(*args, **kwargs):
            built.append(chunk.last_record)
            yield chunk
            if where == "building" and len(built) == 4:  # chunks 3 and 4 pending: written before the stop
                raise Stopped(signal.SIGTERM)

    monkeypatch.setattr(api, "_chunks", chunks)
    if where == "writing":  # at the 4th chunk's checkpoint: chunk 5 built and sent, 6 built, neither written
        original = outputs.TableWriter.checkpoint
        calls = [0]

        def checkpoint(self, *args):
            if self.path == out:
                calls[0] += 1
                if calls[0] == 4:
                    in_flight.append(len(helper._pending))
                    raise Stopped(signal.SIGTERM)
            return original(self, *args)

        monkeypatch.setattr(outputs.TableWriter, "checkpoint", checkpoint)
    with pytest.raises(Stopped):
        score(data, out, tsv_process=True)
    note = __import__("json").loads((tmp_path / "part.tsv.progress.json").read_text())
    if where == "building":
        assert len(built) == 4 and note["last_record"] == built[3]  # every chunk built was written
    else:
        assert len(built) == 6 and in_flight == [1] and note["last_record"] == built[2]
    assert not helper._pending and not helper.broken  # the unread answers were read and dropped
    monkeypatch.undo()
    monkeypatch.setattr(tsv_process, "_helper", helper)
    monkeypatch.setattr(tsv_process, "_failed", False)
    answered = helper.answered
    score(data, out, tsv_process=True, resume=True)
    assert md5(out) == md5(whole)
    assert not helper.broken and helper.answered > answered


def test_two_runs_at_once_one_with_the_helper(data, tmp_path, fresh):
    helper = started_helper()
    here = tmp_path / "here.tsv"
    score(data, here, tsv_process=False)
    outs = [tmp_path / f"run{i}.tsv" for i in range(3)]
    errors = []

    def run(out):
        try:
            score(data, out, tsv_process=True)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(o,)) for o in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {md5(o) for o in outs} == {md5(here)}
    assert helper.answered > 0 and not helper.broken


def test_automatic_needs_two_cpus_and_a_text_table(data, tmp_path, monkeypatch):
    asked = []
    original = tsv_process.checkout
    monkeypatch.setattr(tsv_process, "checkout", lambda: asked.append(1) or original())
    monkeypatch.setattr(tsv_process, "usable_cpus", lambda: 1)
    score(data, tmp_path / "one.tsv")
    assert asked == []
    score(data, tmp_path / "forced.tsv", tsv_process=True)
    assert asked == [1]
    monkeypatch.setattr(tsv_process, "usable_cpus", lambda: 2)
    score(data, tmp_path / "two.tsv")
    pytest.importorskip("pyarrow")
    score(data, tmp_path / "two.parquet")
    assert asked == [1, 1]


def test_command_line_option(tmp_path, monkeypatch):
    paths = make_utr_dataset(tmp_path / "utr", seed=2, n_genes=6, variants_per_utr=5)
    asked = []
    original = tsv_process.checkout
    monkeypatch.setattr(tsv_process, "checkout", lambda: asked.append(1) or original())
    monkeypatch.setattr(tsv_process, "usable_cpus", lambda: 2)
    common = ["windows", "--model", "Framepool", "--fasta", str(paths["fasta"]), "--gtf", str(paths["gtf"]),
              "--vcf", str(paths["vcf"]), "-q"]
    assert main([*common, "-o", str(tmp_path / "off.tsv"), "--tsv-process", "off"]) == 0
    assert asked == []
    assert main([*common, "-o", str(tmp_path / "auto.tsv")]) == 0
    assert asked == [1]
    assert (tmp_path / "off.tsv").read_bytes() == (tmp_path / "auto.tsv").read_bytes()


def test_a_stop_while_a_chunk_is_sent_writes_every_chunk_built(data, tmp_path, fresh, monkeypatch):
    helper = started_helper()
    whole = tmp_path / "whole.tsv"
    score(data, whole, tsv_process=False)
    built, original_chunks, original_submit = [], api._chunks, tsv_process.TsvHelper.submit

    def chunks(*args, **kwargs):
        for chunk in original_chunks(*args, **kwargs):
            built.append(chunk.last_record)
            yield chunk

    def submit(self, *args):
        if len(built) == 4:  # chunks 2 and 3 pending, the 4th built: all three are written
            raise Stopped(signal.SIGINT)
        return original_submit(self, *args)

    monkeypatch.setattr(api, "_chunks", chunks)
    monkeypatch.setattr(tsv_process.TsvHelper, "submit", submit)
    out = tmp_path / "part.tsv"
    with pytest.raises(Stopped):
        score(data, out, tsv_process=True)
    note = __import__("json").loads((tmp_path / "part.tsv.progress.json").read_text())
    assert len(built) == 4 and note["last_record"] == built[3]
    monkeypatch.undo()
    monkeypatch.setattr(tsv_process, "_helper", helper)
    monkeypatch.setattr(tsv_process, "_failed", False)
    score(data, out, tsv_process=True, resume=True)
    assert md5(out) == md5(whole)


def test_tables_and_texts_larger_than_the_pipe_do_not_hang(fresh):
    """Two tables sent before either answer is read, each (and its text) several times the pipe."""
    helper = started_helper()
    rng = np.random.default_rng(0)
    n = 3000
    tables = [Table(n, {"seq": text_column(["".join(rng.choice(list("ACGT"), 1500)) for _ in range(n)]),
                        "x": rng.normal(size=n)}) for _ in range(2)]
    assert len(outputs.render_tsv(tables[0], ["seq", "x"], False)) > 4 * tsv_process.PIPE_BYTES
    results = []

    def run():
        with tsv_process.checkout():
            tickets = [helper.submit(t, ["seq", "x"], False) for t in tables]
            results.extend(helper.text(k, t, ["seq", "x"], False) for k, t in zip(tickets, tables))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the run and the helper wait on each other"
    assert results == [outputs.render_tsv(t, ["seq", "x"], False) for t in tables]
    assert helper.answered == 2 and not helper.broken


def test_a_helper_with_other_formatting_code_is_not_used(data, tmp_path, fresh, monkeypatch, caplog):
    monkeypatch.setattr(tsv_process, "_DIGEST", "0" * 32)  # as if seqzoo's files changed after the import
    with tsv_process.checkout() as helper:
        deadline = time.monotonic() + 60
        with caplog.at_level(logging.WARNING, logger="seqzoo.tsv_process"):
            while not helper.broken:
                assert not helper.ready and time.monotonic() < deadline
                time.sleep(0.02)
    assert "output code on disk is not the code this process imported" in caplog.text
    here, there = tmp_path / "here.tsv", tmp_path / "there.tsv"
    score(data, here, tsv_process=False)
    score(data, there, tsv_process=True)
    assert md5(there) == md5(here)


def test_the_helper_ends_quietly_and_a_forked_child_does_not_keep_it(tmp_path, fresh):
    import os
    import subprocess
    import sys

    paths = make_utr_dataset(tmp_path / "utr", seed=2, n_genes=6, variants_per_utr=5)
    run = subprocess.run([sys.executable, "-m", "seqzoo", "windows", "--model", "Framepool", "--fasta",
                          str(paths["fasta"]), "--gtf", str(paths["gtf"]), "--vcf", str(paths["vcf"]), "-o",
                          str(tmp_path / "w.tsv"), "--tsv-process", "on", "-q"], capture_output=True, text=True)
    assert run.returncode == 0 and "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
    helper = started_helper()
    child = os.fork()
    if child == 0:  # holds the parent's file descriptors (pointed at /dev/null after the fork) for 10 s
        time.sleep(10)
        os._exit(0)
    try:
        t0 = time.monotonic()
        helper.close()
        assert time.monotonic() - t0 < 1.5 and helper._proc.returncode == 0  # ended at the end of its input
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
