"""Substitutions inside one model's fixed windows are scored as blocks of arrays (no object per
allele): the rows, skips, runs and summary equal the per-allele path's (``vectorized=False``), on
dense random VCFs with SNVs and MNVs at every kind of place: both strands, window edges, windows
shared by several features, overlapping windows, N in the genome, REF mismatches among them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seqzoo
from conftest import require_weights
from seqzoo.synthetic import make_gene_model_dataset, other_base, write_fasta, write_vcf


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("fast_rows")
    paths = make_gene_model_dataset(d, seed=6, n_genes=4)
    seq = list("".join(x.strip() for x in paths["fasta"].read_text().splitlines()[1:]))
    for p in (11_050, 23_400, 35_700):  # N runs inside windows
        seq[p:p + 3] = "NNN"
    seq = "".join(seq)
    write_fasta(paths["fasta"], {"1": seq})
    paths["fasta"].with_name("genome.fa.fai").unlink(missing_ok=True)
    rng = np.random.default_rng(12)
    records = []
    for p in sorted(rng.choice(np.arange(1, len(seq) - 5), size=4000, replace=False).tolist()):
        r = seq[p - 1]
        if r == "N":
            continue
        kind = rng.integers(10)
        if kind < 6:
            records.append(("chr1", p, None, r, other_base(r, int(rng.integers(3)))))
        elif kind < 8:  # MNV
            ref = seq[p - 1:p + 1]
            if "N" not in ref:
                records.append(("chr1", p, f"m{p}", ref, "".join(other_base(b) for b in ref)))
        elif kind == 8:
            records.append(("chr1", p, None, other_base(r), r))  # REF mismatch
        else:
            records.append(("chr1", p, None, r, r + "T"))  # an insertion: the per-allele path
    paths["vcf"] = write_vcf(d / "dense.vcf", records, {"chr1": len(seq)})
    hal = d / "hal.npz"
    np.savez(hal, weights=np.random.default_rng(0).normal(size=(4096, 8)))
    return paths, hal


@pytest.fixture()
def block_rows(monkeypatch):
    """Every run of in-window records becomes a block (FastRows.MIN_ROWS = 1: this VCF's runs between
    insertions are short); returns the count of rows the block path scores."""
    from seqzoo.scoring import PairScorer
    from seqzoo.windowing import FastRows

    counted = {"rows": 0}
    score_fast = PairScorer.score_fast

    def counting(self, rows):
        counted["rows"] += len(rows)
        return score_fast(self, rows)

    monkeypatch.setattr(FastRows, "MIN_ROWS", 1)
    monkeypatch.setattr(PairScorer, "score_fast", counting)
    return counted


def compare(model, paths, min_rows, counted, min_block_rows, **kw):
    args = (paths["fasta"], paths["vcf"], paths["gtf"])
    fast = seqzoo.score_vcf(model, *args, chunk_rows=500, **kw)
    assert counted["rows"] >= min_block_rows  # these rows took the block path
    slow = seqzoo.score_vcf(model, *args, chunk_rows=500, vectorized=False, **kw)
    assert len(fast.rows) >= min_rows
    assert fast.rows.variant_id.str.startswith("m").any()  # MNVs among the block rows
    pd.testing.assert_frame_equal(fast.skipped, slow.skipped)
    pd.testing.assert_frame_equal(fast.outside, slow.outside)
    assert fast.summary == slow.summary
    for col in fast.rows.columns:
        a, b = fast.rows[col], slow.rows[col]
        if a.dtype == object and len(a) and isinstance(a.iloc[0], np.ndarray):
            np.testing.assert_allclose(np.stack(a), np.stack(b), atol=1e-6, err_msg=col)
        elif a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6, err_msg=col)
        else:
            assert a.tolist() == b.tolist(), col
    return fast


def test_hal_blocks_equal_the_per_allele_path(data, block_rows):
    paths, hal = data
    compare("HAL", paths, 80, block_rows, 70, weights=hal)


def test_short_runs_take_the_per_allele_path(data):
    """By default runs of fewer than FastRows.MIN_ROWS rows are not blocks; the result is the same."""
    from seqzoo.scoring import PairScorer
    from seqzoo.windowing import FastRows

    paths, hal = data
    assert FastRows.MIN_ROWS == 64
    calls = []
    score_fast = PairScorer.score_fast
    PairScorer.score_fast = lambda self, rows: calls.append(len(rows)) or score_fast(self, rows)
    try:
        args = (paths["fasta"], paths["vcf"], paths["gtf"])
        fast = seqzoo.score_vcf("HAL", *args, chunk_rows=500, weights=hal)
    finally:
        PairScorer.score_fast = score_fast
    assert all(n >= 64 for n in calls)
    slow = seqzoo.score_vcf("HAL", *args, chunk_rows=500, weights=hal, vectorized=False)
    assert fast.summary == slow.summary and len(fast.rows) == len(slow.rows)
    np.testing.assert_allclose(fast.rows.alt_score, slow.rows.alt_score, atol=1e-9)


def test_xpresso_blocks_equal_the_per_allele_path(data, block_rows):
    paths, _ = data
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    compare("Xpresso/human_median", paths, 100, block_rows, 2000)


def test_aparent2_blocks_equal_the_per_allele_path(data, block_rows):
    paths, _ = data
    require_weights("aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5")
    compare("APARENT2", paths, 40, block_rows, 40, incremental=False)
