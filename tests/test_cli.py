"""`seqzoo score` / `seqzoo windows` end to end on a synthetic genome, with the accounting identity."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import require_weights
from seqzoo import registry
from seqzoo.cli import main
from seqzoo.scoring import VariantWindows
from seqzoo.synthetic import make_utr_dataset


FRAMEPOOL = "Framepool_combined_residual.h5"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_utr_dataset(tmp_path_factory.mktemp("genome"), seed=3, n_genes=10, variants_per_utr=4)


def read_table(path):
    if str(path).endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["nan"])


def args(d, out, command="score"):
    return [command, "--model", "Framepool", "--fasta", str(d["fasta"]), "--gtf", str(d["gtf"]),
            "--vcf", str(d["vcf"]), "-o", str(out)]


@pytest.mark.parametrize("suffix", [".tsv", ".tsv.gz", ".parquet"])
def test_score_outputs_accounting_and_values(dataset, tmp_path, suffix, framepool_model, capsys):
    out = tmp_path / f"scores{suffix}"
    assert main(args(dataset, out)) == 0
    table = read_table(out)
    skipped = pd.read_csv(str(out) + ".skipped.tsv", sep="\t", keep_default_na=False)
    summary = json.loads(open(str(out) + ".summary.json").read())
    assert list(table.columns) == ["variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand",
                                   "ref_mrl", "alt_mrl", "ref_mrl_unscaled", "alt_mrl_unscaled",
                                   "mrl_fold_change", "shift_1", "shift_2", "record", "alt_index"]
    # accounting: every allele of the VCF is a row or an allele-level skip; rows name their allele
    allele_keys = set(zip(table.record, table.alt_index))
    assert not allele_keys & set(zip(skipped.record[skipped.feature_id == ""], skipped.alt_index))
    allele_skips = skipped[skipped.feature_id == ""]
    outside = pd.read_csv(str(out) + ".outside.tsv", sep="\t")  # alleles outside every 5'UTR: runs
    assert summary["alleles"] == len(allele_keys) + len(allele_skips) + outside.alleles.sum()
    assert summary["scored_alleles"] == len(allele_keys) and summary["rows"] == len(table)
    assert summary["identity_holds"] is True
    assert set(allele_skips.reason) == {"ref_mismatch", "crosses_utr_exon_boundary", "symbolic_alt",
                                        "contig_not_in_fasta"}
    assert set(outside.reason) == {"not_in_5utr"} and summary["outside_alleles"] == outside.alleles.sum() > 0
    assert summary["skipped_by_reason"]["not_in_5utr"] == outside.alleles.sum()
    assert summary["unmatched_contigs"] == {"VCF": ["chrUn_unknown"]}
    err = capsys.readouterr().err
    assert f"records={summary['records']} alleles={summary['alleles']} rows={len(table)}" in err
    # values: the rows equal a direct prediction on the windows the model saw
    windows = tmp_path / f"windows{suffix}"
    assert main(args(dataset, windows, "windows")) == 0
    w = read_table(windows)
    assert list(w.variant_id) == list(table.variant_id) and list(w.feature_id) == list(table.feature_id)
    ref = framepool_model.predict_sequences(list(w.ref_seq))
    alt = framepool_model.predict_sequences(list(w.alt_seq))
    np.testing.assert_allclose(table.ref_mrl, ref["mrl"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(table.alt_mrl, alt["mrl"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(table.mrl_fold_change, np.log2(alt["mrl"].astype(float) / ref["mrl"]), atol=1e-5)
    np.testing.assert_allclose(table.shift_2, np.log2(alt["mrl_shift_2"].astype(float) / ref["mrl_shift_2"]),
                               atol=1e-5)
    assert (table.chrom.str.startswith("chr")).all()  # VCF names kept in the output


def test_multiallelic_and_transcript_rows(dataset, tmp_path):
    require_weights(FRAMEPOOL)
    out = tmp_path / "s.tsv"
    assert main(args(dataset, out) + ["--quiet"]) == 0
    table = read_table(out)
    multi = table[table.variant_id == "multi"]
    # two ALTs x two transcripts sharing the 5'UTR (gene G000 has T000.1 and T000.2)
    assert len(multi) == 4 and set(multi.feature_id) == {"T000.1", "T000.2"} and multi.alt.nunique() == 2


def test_bgzipped_vcf_gives_the_same_rows(dataset, tmp_path):
    require_weights(FRAMEPOOL)
    from seqzoo.synthetic import write_vcf
    from cyvcf2 import VCF
    recs = [(v.CHROM, v.POS, v.ID, v.REF, ",".join(v.ALT)) for v in VCF(str(dataset["vcf"]))]
    gz = write_vcf(tmp_path / "v.vcf.gz", recs, bgzip=True)
    with gzip.open(gz, "rt") as fh:
        assert fh.readline().startswith("##fileformat")
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(args(dataset, a) + ["--quiet"]) == 0
    d2 = dict(dataset, vcf=gz)
    assert main(args(d2, b) + ["--quiet"]) == 0
    assert a.read_text() == b.read_text()


def test_user_errors_are_one_line_not_a_traceback(dataset, tmp_path):
    require_weights(FRAMEPOOL)  # (the weights load before the VCF is opened)
    exe = [sys.executable, "-m", "seqzoo"]
    missing = dict(dataset, vcf=tmp_path / "nope.vcf")
    res = subprocess.run(exe + args(missing, tmp_path / "o.tsv"), capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip() == f"seqzoo: error: VCF file {tmp_path / 'nope.vcf'} does not exist"
    res = subprocess.run(exe + args(dataset, tmp_path / "o.csv"), capture_output=True, text=True)
    assert res.returncode == 2 and "must end in .tsv, .tsv.gz, .parquet" in res.stderr
    assert "Traceback" not in res.stderr
    res = subprocess.run(exe + args(dataset, tmp_path / "o.tsv") + ["--weights", str(tmp_path / "w.h5")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "does not exist" in res.stderr and "zenodo.org" in res.stderr


def test_windows_needs_no_weights(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQZOO_WEIGHTS_DIR", str(tmp_path))  # no weights anywhere
    out = tmp_path / "w.tsv"
    assert main(args(dataset, out, "windows") + ["--quiet"]) == 0
    vw = VariantWindows(registry.get("Framepool"), dataset["fasta"], dataset["gtf"])
    n = sum(1 for e in vw.events(dataset["vcf"]) if hasattr(e, "alt_seq"))
    assert len(read_table(out)) == n > 0


def test_score_on_cuda_equals_cpu(dataset, tmp_path, framepool_model):
    """`seqzoo score --device cuda` (CI has no GPU: skips there, saying so)."""
    import torch
    if not torch.cuda.is_available():
        pytest.skip("SKIPPED LOUDLY: no CUDA device here; `seqzoo score --device cuda` is checked only on a GPU "
                    "machine (parity of every model on CUDA: the *_parity tests)")
    assert main(args(dataset, tmp_path / "cpu.tsv") + ["-q"]) == 0
    assert main(args(dataset, tmp_path / "cuda.tsv") + ["-q", "--device", "cuda"]) == 0
    cpu, cuda = read_table(tmp_path / "cpu.tsv"), read_table(tmp_path / "cuda.tsv")
    assert list(cpu.columns) == list(cuda.columns) and len(cpu) == len(cuda) > 0
    numeric = cpu.select_dtypes("number").columns
    np.testing.assert_allclose(cuda[numeric].to_numpy(float), cpu[numeric].to_numpy(float), rtol=0, atol=1e-5)
    assert (cpu.drop(columns=numeric) == cuda.drop(columns=numeric)).all().all()


def test_scoring_in_slices_gives_the_same_rows(dataset, framepool_model):
    """PairScorer predicts at most score_rows pairs at once (bounded per-position outputs)."""
    from seqzoo.scoring import PairScorer
    spec = registry.get("Framepool")
    pairs = [e for e in VariantWindows(spec, dataset["fasta"], dataset["gtf"]).events(dataset["vcf"])
             if hasattr(e, "alt_seq")]
    whole = PairScorer(spec, framepool_model).score(pairs)
    sliced_scorer = PairScorer(spec, framepool_model)
    sliced_scorer.score_rows = 7
    sliced = sliced_scorer.score(pairs)
    assert len(pairs) > 20 and len(sliced) == len(whole)
    for a, b in zip(whole, sliced):
        # float32 outputs of batches of other compositions differ in the last bits (GEMM blocking)
        assert a.keys() == b.keys() and all(a[k] == b[k] if isinstance(a[k], str) else
                                            np.isclose(a[k], b[k], rtol=1e-6, atol=1e-6) for k in a)


def test_threads_default_to_the_cpus_this_process_may_use(dataset, tmp_path, monkeypatch):
    import os

    require_weights(FRAMEPOOL)

    import torch

    import seqzoo
    from seqzoo.api import available_cpus

    usable = len(os.sched_getaffinity(0))
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert available_cpus() == usable
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert available_cpus() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert available_cpus() == 1
    before = torch.get_num_threads()
    try:
        assert main(args(dataset, tmp_path / "t.tsv") + ["--quiet"]) == 0  # SLURM_CPUS_PER_TASK=1
        assert torch.get_num_threads() == 1
        monkeypatch.delenv("SLURM_CPUS_PER_TASK")
        assert main(args(dataset, tmp_path / "t2.tsv") + ["--quiet", "--threads", "2"]) == 0
        assert torch.get_num_threads() == 2
        assert main(args(dataset, tmp_path / "t3.tsv") + ["--quiet", "--threads", "0"]) == 2
        torch.set_num_threads(1)  # a Python caller's own setting is not raised by the default
        seqzoo.score_vcf("Framepool", dataset["fasta"], dataset["vcf"], dataset["gtf"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
