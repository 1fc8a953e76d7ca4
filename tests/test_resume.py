"""Incremental output, progress notes and ``--resume``: a stopped or killed run continues without
duplicates and ends byte-identical to an uninterrupted one."""
from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from seqzoo.cli import main
from seqzoo.outputs import parts_dir
from seqzoo.scoring import VariantWindows
from seqzoo import registry
from seqzoo.synthetic import make_utr_dataset

from conftest import require_weights

# Runs the seqzoo CLI in a child process that sends itself SIGNAL when the output writer is
# checkpointed for the AT-th time, i.e. after the AT-th chunk's rows are written but before its
# progress note is saved (the worst moment: rows on disk that no note covers), with progress notes
# at most every SECONDS (seqzoo.checkpoint.CHECKPOINT_SECONDS; 0: after every chunk).
KILLER = """
import os, signal, sys
from seqzoo import checkpoint, outputs
from seqzoo.cli import main
sig, at, seconds, argv = getattr(signal, sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
checkpoint.CHECKPOINT_SECONDS = seconds
calls = [0]
for cls in (outputs.TableWriter, outputs.Hdf5Writer):
    def hook(self, *args, _orig=cls.checkpoint):
        if "reason" not in self.columns:  # the output table, not the skip report
            calls[0] += 1
            if calls[0] == at:
                os.kill(os.getpid(), sig)
        return _orig(self, *args)
    cls.checkpoint = hook
sys.exit(main(argv))
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_utr_dataset(tmp_path_factory.mktemp("resume"), seed=3, n_genes=30, variants_per_utr=20)


def args(command, data, out, *extra):
    return [command, "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
            "--vcf", str(data["vcf"]), "-o", str(out), "--chunk-rows", "50", "-q", *extra]


def run_killed(signame, at, argv, seconds=0.0):
    return subprocess.run([sys.executable, "-c", KILLER, signame, str(at), str(seconds), *argv], capture_output=True,
                          text=True)


def note_of(out):
    return json.loads((out.parent / (out.name + ".progress.json")).read_text())


def read_partial(out) -> pd.DataFrame:
    name = str(out)
    if name.endswith(".parquet"):
        return pd.read_parquet(parts_dir(out))
    return pd.read_csv(out, sep="\t")


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz", ".parquet"])
def test_killed_run_leaves_readable_output_and_resumes_without_duplicates(data, tmp_path, suffix):
    whole = tmp_path / f"whole{suffix}"
    assert main(args("windows", data, whole)) == 0
    out = tmp_path / f"part{suffix}"
    res = run_killed("SIGKILL", 4, args("windows", data, out))
    assert res.returncode == -signal.SIGKILL
    note = note_of(out)
    # three chunks noted; the fourth chunk's rows were on disk beyond the note
    assert note["status"] == "running" and note["last_record"] > 0
    partial = read_partial(out)
    assert len(partial) >= note["summary"]["rows"] > 0
    assert main(args("windows", data, out, "--resume")) == 0
    assert out.read_bytes() == whole.read_bytes()
    for extra in (".skipped.tsv", ".outside.tsv", ".summary.json"):
        assert (tmp_path / f"part{suffix}{extra}").read_bytes() == (tmp_path / f"whole{suffix}{extra}").read_bytes()
    assert not (tmp_path / f"part{suffix}.progress.json").exists()
    assert not parts_dir(out).exists()
    summary = json.loads((tmp_path / f"part{suffix}.summary.json").read_text())
    assert summary["identity_holds"] and summary["alleles"] == summary["scored_alleles"] + summary["skipped_alleles"]


def test_sigterm_stops_at_a_chunk_boundary_with_a_note(data, tmp_path):
    out = tmp_path / "o.tsv.gz"
    res = run_killed("SIGTERM", 4, args("windows", data, out))
    assert res.returncode == 128 + signal.SIGTERM
    note = note_of(out)
    assert note["status"] == "stopped"
    last, at = note["last_record"], note["last_record_at"]
    assert (f"seqzoo: stopped (SIGTERM); {out} and {out}.skipped.tsv hold every row of VCF records 1-{last} "
            f"(up to {at}); progress note {out}.progress.json. Continue with the same command plus --resume.") \
        in res.stderr
    # the files hold exactly the noted records: the fourth chunk was cut away, the gzip is whole
    with gzip.open(out, "rt") as fh:
        rows = fh.read().splitlines()
    assert len(rows) - 1 == note["summary"]["rows"]
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t")
    assert skipped.record.max() <= last
    assert len(skipped[skipped.feature_id.isna()]) == note["summary"]["skipped_alleles"]


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz", ".parquet"])
def test_notes_at_most_every_checkpoint_seconds_and_a_stop_notes_its_last_whole_chunk(data, tmp_path, suffix):
    """Progress notes (and the fsyncs before them) come after the first chunk, then at most every
    CHECKPOINT_SECONDS: a run killed at its fourth chunk within that time leaves the first chunk's
    note and resumes from it byte-identically; SIGTERM still notes the last whole chunk (the
    third), as with a note after every chunk, cutting away the fourth chunk's rows (gzip member,
    Parquet part)."""
    whole = tmp_path / f"whole{suffix}"
    assert main(args("windows", data, whole)) == 0
    every = {}
    for at in (2, 4):  # notes after every chunk: killed at chunk 2 / 4 -> the note of chunk 1 / 3
        out = tmp_path / f"every{at}{suffix}"
        assert run_killed("SIGKILL", at, args("windows", data, out)).returncode == -signal.SIGKILL
        every[at] = note_of(out)["last_record"]
    assert 0 < every[2] < every[4]
    out = tmp_path / f"killed{suffix}"
    assert run_killed("SIGKILL", 4, args("windows", data, out), seconds=3600).returncode == -signal.SIGKILL
    note = note_of(out)
    assert note["status"] == "running" and note["last_record"] == every[2]
    assert main(args("windows", data, out, "--resume")) == 0
    assert out.read_bytes() == whole.read_bytes()
    out = tmp_path / f"stopped{suffix}"
    assert run_killed("SIGTERM", 4, args("windows", data, out), seconds=3600).returncode == 128 + signal.SIGTERM
    note = note_of(out)
    assert note["status"] == "stopped" and note["last_record"] == every[4]
    assert len(read_partial(out)) == note["summary"]["rows"]
    assert main(args("windows", data, out, "--resume")) == 0
    assert out.read_bytes() == whole.read_bytes()


def _windows(data, out, on_chunk):
    import seqzoo
    return seqzoo.windows_vcf("Framepool", data["fasta"], data["vcf"], gtf=data["gtf"], out=out, chunk_rows=50,
                              on_chunk=on_chunk)


@pytest.mark.parametrize("failing", ["stop", "loop"])
def test_a_failed_fsync_goes_back_to_the_last_note(data, tmp_path, monkeypatch, failing):
    """Chunks after the last note are noted at a stop only once they are on disk: where that fsync
    fails ("stop"), or an fsync of a later chunk already failed once ("loop": a second fsync after
    a lost write may succeed, the data gone), the note stays the first chunk's; resuming from it
    gives the uninterrupted run's bytes."""
    import errno
    import os
    from seqzoo import checkpoint
    from seqzoo.checkpoint import Stopped
    whole = tmp_path / "whole.tsv"
    assert main(args("windows", data, whole)) == 0
    first = tmp_path / "first.tsv"  # the first chunk's last record: a run stopped after it
    with pytest.raises(Stopped):
        _windows(data, first, lambda record: (_ for _ in ()).throw(Stopped(15)))
    first_record = note_of(first)["last_record"]
    monkeypatch.setattr(checkpoint, "CHECKPOINT_SECONDS", 3600.0)
    real_fsync, calls = os.fsync, [0]

    def fsync(fd):
        calls[0] += 1
        if calls[0] > 3 and (failing == "stop" or calls[0] == 4):  # chunk 1's three fsyncs pass
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    chunks = [0]

    def on_chunk(record):
        chunks[0] += 1
        if failing == "loop" and chunks[0] == 2:  # chunk 3 syncs: its first fsync fails, later ones would not
            checkpoint.CHECKPOINT_SECONDS = 0.0
        if chunks[0] == 3:
            raise Stopped(15)

    out = tmp_path / "o.tsv"
    with pytest.raises(Stopped if failing == "stop" else OSError):
        _windows(data, out, on_chunk)
    note = note_of(out)
    assert note["status"] == ("stopped" if failing == "stop" else "failed")
    assert note["last_record"] == first_record
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert main(args("windows", data, out, "--resume")) == 0
    assert out.read_bytes() == whole.read_bytes()


def test_resumed_scores_equal_an_uninterrupted_run(data, tmp_path):
    require_weights("Framepool_combined_residual.h5")
    whole, out = tmp_path / "whole.h5", tmp_path / "part.h5"
    assert main(args("score", data, whole)) == 0
    assert run_killed("SIGKILL", 3, args("score", data, out)).returncode == -signal.SIGKILL
    assert main(args("score", data, out, "--resume")) == 0
    import h5py
    with h5py.File(whole) as a, h5py.File(out) as b:
        for group in ("metadata", "preds"):
            assert sorted(a[group]) == sorted(b[group])
            for key in a[group]:
                x, y = a[group][key][:], b[group][key][:]
                if x.dtype.kind in "OS":
                    assert (x == y).all(), key
                else:
                    np.testing.assert_allclose(y, x, rtol=0, atol=1e-6, err_msg=key)
    assert (tmp_path / "part.h5.summary.json").read_text() == (tmp_path / "whole.h5.summary.json").read_text()


def test_resume_refuses_another_runs_note(data, tmp_path, capsys):
    out = tmp_path / "o.tsv"
    assert run_killed("SIGTERM", 2, args("windows", data, out)).returncode == 128 + signal.SIGTERM
    other = tmp_path / "other.vcf"
    other.write_text(data["vcf"].read_text() + "chr1\t5\t.\tA\tC\t.\t.\t.\n")
    argv = args("windows", data, out, "--resume")
    argv[argv.index("--vcf") + 1] = str(other)
    assert main(argv) == 2
    assert (f"seqzoo: error: cannot resume: {out}.progress.json was written by a run with other vcf (inputs, "
            f"models and output columns must be the same, and the input files unchanged)") in capsys.readouterr().err


def test_resume_of_a_complete_run_and_without_a_note(data, tmp_path, capsys, caplog):
    out = tmp_path / "o.tsv"
    assert main(args("windows", data, out, "--resume")) == 0  # no note: from the first record
    assert f"--resume: no progress note {out}.progress.json; starting from the first record" in caplog.text
    assert main(args("windows", data, out, "--resume")) == 2
    assert (f"seqzoo: error: {out} is complete ({out}.summary.json exists); nothing to resume"
            in capsys.readouterr().err)


def test_resume_needs_a_table_output(data, tmp_path, capsys):
    argv = args("score", data, tmp_path / "o.vcf.gz", "--resume", "--weights", str(tmp_path / "none.h5"))
    assert main(argv) == 2
    assert "--resume needs a table output (.tsv, .tsv.gz, .parquet, .h5)" in capsys.readouterr().err


def test_chunks_hold_whole_records_and_summaries_match_them(data):
    windows = VariantWindows(registry.get("Framepool"), data["fasta"], data["gtf"])
    chunks = list(windows.chunks(data["vcf"], chunk_rows=7))
    seen: set[int] = set()
    rows = 0
    for chunk in chunks:
        records = {e.allele.record for e in chunk.pairs + chunk.skips}
        assert not records & seen and max(records) == chunk.last_record
        last = next(e.allele for e in chunk.pairs + chunk.skips if e.allele.record == chunk.last_record)
        assert chunk.last_record_at == f"{last.chrom}:{last.pos}"
        seen |= records
        rows += len(chunk.pairs)
        assert chunk.summary["rows"] == rows and chunk.summary["records"] == len(seen)
    assert chunks[-1].summary == windows.summary.to_dict()
    assert len(chunks) > 10


def test_background_reader_gives_the_same_output_and_errors(data, tmp_path, capsys):
    assert main(args("windows", data, tmp_path / "a.tsv", "--io-workers", "0")) == 0
    assert main(args("windows", data, tmp_path / "b.tsv", "--io-workers", "1")) == 0
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    lines = data["vcf"].read_text().splitlines()
    bad = tmp_path / "bad.vcf"
    bad.write_text("\n".join(lines[:400] + ["chr1\t12"]) + "\n")
    header = sum(1 for x in lines if x.startswith("#"))
    for workers in ("0", "1"):
        argv = args("windows", data, tmp_path / f"bad{workers}.tsv", "--io-workers", workers)
        argv[argv.index("--vcf") + 1] = str(bad)
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"seqzoo: error: VCF file {bad}, record {401 - header} (line 401: error parsing variant" in err
        # the chunks before the bad record are kept and noted; a fixed VCF is a new input: start again
        assert note_of(tmp_path / f"bad{workers}.tsv")["status"] == "failed"
        assert "Fix the input and run the command again without --resume" in err


@pytest.mark.parametrize("suffix", [".h5", ".tsv.gz"])
def test_a_fresh_run_drops_an_older_runs_note(data, tmp_path, suffix):
    """A run without --resume that is stopped before its first note must not leave the previous
    run's note behind: a later --resume would cut the new files at the old run's offsets."""
    out = tmp_path / f"o{suffix}"
    assert run_killed("SIGTERM", 4, args("windows", data, out)).returncode == 128 + signal.SIGTERM
    assert note_of(out)["last_record"] > 0
    res = run_killed("SIGTERM", 1, args("windows", data, out))  # fresh run, stopped before its first note
    assert res.returncode == 128 + signal.SIGTERM and "before the first chunk was written" in res.stderr
    assert not (tmp_path / f"o{suffix}.progress.json").exists()
    whole = tmp_path / f"whole{suffix}"
    assert main(args("windows", data, whole)) == 0
    assert main(args("windows", data, out, "--resume")) == 0  # no note: from the first record
    if suffix == ".tsv.gz":
        assert out.read_bytes() == whole.read_bytes()
    else:
        import h5py
        with h5py.File(out) as a, h5py.File(whole) as b:
            assert (a["metadata/pos"][:] == b["metadata/pos"][:]).all() and len(a["metadata/pos"]) > 0


def test_resume_checks_every_file_before_cutting_any(data, tmp_path, capsys):
    out = tmp_path / "o.tsv"
    assert run_killed("SIGTERM", 4, args("windows", data, out)).returncode == 128 + signal.SIGTERM
    before = out.read_bytes()
    skipped = tmp_path / "o.tsv.skipped.tsv"
    skipped.write_text("variant_id\n")  # damaged skip report
    assert main(args("windows", data, out, "--resume")) == 2
    assert (f"seqzoo: error: cannot resume: {skipped} has 11 bytes, the progress note says"
            in capsys.readouterr().err)
    assert out.read_bytes() == before  # the output was not cut


def test_a_second_pass_over_the_vcf_counts_its_records_again(data, tmp_path):
    """Record counting restarts with every pass (the Kipoi dataloader iterates once per epoch)."""
    from seqzoo.scoring import RunSummary
    from seqzoo.synthetic import write_vcf
    windows = VariantWindows(registry.get("Framepool"), data["fasta"], data["gtf"])
    vcf = write_vcf(tmp_path / "one.vcf", [("chr1", 5, "x", "A", "G")])
    for _ in range(2):
        windows.summary = RunSummary(unmatched_contigs=windows.names.unmatched)
        list(windows.events(vcf))
        assert (windows.summary.records, windows.summary.alleles) == (1, 1)
