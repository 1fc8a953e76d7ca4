"""No input is ever truncated, overwritten or removed: an output path that is an input (also through
a symlink, a hard link or another spelling), an existing folder, another output of the same run, or
the output of a run under way is refused before anything is opened for writing."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from conftest import require_weights
from seqzoo.cli import main
from seqzoo.output_paths import OutputLock, lock_path
from seqzoo.synthetic import make_utr_dataset


@pytest.fixture()
def data(tmp_path):
    paths = make_utr_dataset(tmp_path / "in", seed=3, n_contigs=1, contig_length=4000, n_genes=3, variants_per_utr=2)
    hl = tmp_path / "in" / "hl.tsv"
    hl.write_text("gene_id\ta\tb\tc\td\te\tf\n")
    return {k: Path(v) for k, v in paths.items()} | {"halflife": hl}


def _digests(folder: Path) -> dict:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _windows(data, out, *extra):
    return main(["windows", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
                 "--vcf", str(data["vcf"]), "-o", str(out), "--quiet", *extra])


def _refused(capsys, data, argv_out, *extra, expect: str) -> None:
    main(["windows", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
          "--vcf", str(data["vcf"]), "--quiet", "-o", str(argv_out), *extra])  # builds the .fai once
    before = _digests(data["vcf"].parent)
    assert _windows(data, argv_out, *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqzoo: error: ") and expect in err, err
    assert _digests(data["vcf"].parent) == before


def test_output_equal_to_the_input_vcf_keeps_the_vcf(data, capsys):
    """The reported data loss: `-o v.vcf --vcf v.vcf` used to delete the input VCF."""
    vcf = data["vcf"]
    before = vcf.read_bytes()
    argv = ["score", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
            "--vcf", str(vcf), "-o", str(vcf), "--quiet"]
    require_weights("Framepool_combined_residual.h5")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"output -o {vcf} is the input --vcf {vcf}; writing it would destroy the input" in err
    assert vcf.read_bytes() == before
    assert not Path(str(vcf) + ".skipped.tsv").exists() and not Path(str(vcf) + ".lock").exists()


def test_vcf_reached_through_a_symlink_a_hard_link_or_another_spelling(data, capsys, tmp_path):
    vcf = data["vcf"]
    before = vcf.read_bytes()
    link = tmp_path / "scores.vcf"
    link.symlink_to(vcf)
    hard = tmp_path / "hard.vcf"
    os.link(vcf, hard)
    other = vcf.parent / ".." / vcf.parent.name / vcf.name
    require_weights("Framepool_combined_residual.h5")
    for out in (link, hard, other):
        assert main(["score", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
                     "--vcf", str(vcf), "-o", str(out), "--quiet"]) == 2
        assert "writing it would destroy the input" in capsys.readouterr().err
        assert vcf.read_bytes() == before and link.is_symlink()


@pytest.mark.parametrize("which", ["fasta", "gtf", "halflife", "fai"])
def test_skip_report_onto_another_input_is_refused(data, capsys, which):
    target = Path(str(data["fasta"]) + ".fai") if which == "fai" else data[which]
    extra = ["--skipped", str(target)]
    label = {"fasta": "--fasta", "gtf": "--gtf", "halflife": "--halflife-file", "fai": "FASTA index"}[which]
    if which == "halflife":  # Framepool takes no half-life file: refused as an option first
        assert _windows(data, data["vcf"].parent / "o.tsv", *extra, "--halflife-file", str(target)) == 2
        assert "--halflife-file does not apply" in capsys.readouterr().err
        return
    _refused(capsys, data, data["vcf"].parent / "o.tsv", *extra,
             expect=f"output skip report {target} is the input {label}")


def test_output_onto_the_weights_file_is_refused(data, capsys, tmp_path):
    weights = tmp_path / "framepool_weights.h5"
    shutil.copy(require_weights("Framepool_combined_residual.h5"), weights)
    before = weights.read_bytes()
    argv = ["score", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
            "--vcf", str(data["vcf"]), "--weights", str(weights), "-o", str(weights), "--quiet"]
    assert main(argv) == 2
    assert f"is the input weights of Framepool {weights}" in capsys.readouterr().err
    assert weights.read_bytes() == before


def test_output_that_is_a_folder_is_refused(data, capsys, tmp_path):
    folder = tmp_path / "out.tsv"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert _windows(data, folder) == 2
    assert f"output -o {folder} is an existing folder" in capsys.readouterr().err
    assert (folder / "keep.txt").read_text() == "mine"


def test_skip_report_equal_to_the_output_is_refused(data, capsys, tmp_path):
    out = tmp_path / "o.tsv"
    assert _windows(data, out, "--skipped", str(out)) == 2
    assert "outputs -o and skip report are the same file" in capsys.readouterr().err
    assert not out.exists()


def test_output_being_written_by_another_run_is_refused(data, capsys, tmp_path):
    out = tmp_path / "o.tsv"
    out.write_text("another run's rows\n")
    with OutputLock(lock_path(out)).acquire("test", out):
        assert _windows(data, out) == 2
        err = capsys.readouterr().err
        assert f"output -o {out} is being written by another seqzoo run (pid {os.getpid()} on" in err
        assert out.read_text() == "another run's rows\n"
    assert _windows(data, out) == 0  # the lock is gone with its holder
    assert not lock_path(out).exists()


def test_merge_and_shard_never_write_over_the_vcf(data, capsys, tmp_path):
    vcf = data["vcf"]
    before = vcf.read_bytes()
    assert main(["shard", "--vcf", str(vcf), "--records-per-shard", "5", "-o", str(tmp_path / "shards"), "-q"]) == 0
    assert main(["merge", "--manifest", str(tmp_path / "shards" / "manifest.tsv"), "--parts", str(tmp_path),
                 "--model", "Framepool", "--vcf", str(vcf), "-o", str(tmp_path / "m.parquet"),
                 "--vcf-output", str(vcf), "-q"]) == 2
    assert "output --vcf-output" in capsys.readouterr().err and vcf.read_bytes() == before
    inside = tmp_path / "shards" / "shard_00000.vcf"
    assert main(["shard", "--vcf", str(inside), "--records-per-shard", "5", "-o", str(tmp_path / "shards"),
                 "-q"]) == 2
    assert "is a shard file of the output folder" in capsys.readouterr().err and inside.is_file()
