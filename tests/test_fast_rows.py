"""Alleles inside one model's windows are scored as blocks of arrays (no object per allele): the
rows, skips, runs and summary equal the per-allele path's (``vectorized=False``), on dense random
VCFs with SNVs, MNVs, insertions and deletions at every kind of place: both strands, window edges,
anchors, windows shared by several features, overlapping windows, N in the genome, REF mismatches,
lower-case alleles and multi-ALT records among them; for Framepool, multi-exon 5'UTRs and exon edges."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seqzoo
from conftest import require_weights
from seqzoo.synthetic import make_gene_model_dataset, make_utr_dataset, other_base, write_fasta, write_vcf


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
        if rng.random() < 0.08:  # multi-ALT: two SNVs, an SNV and an indel, a repeated ALT, one bad ALT
            two = [other_base(r, 0), other_base(r, 1)]
            alt = [",".join(two), f"{two[0]},{r}GT", f"{two[0]},{two[0]}", f"{two[0]},*", f"{r}A,{two[1]},{r}CC"][
                int(rng.integers(5))]
            records.append(("chr1", p, None if rng.random() < 0.7 else f"x{p}", r, alt))
        elif kind < 6:
            a = other_base(r, int(rng.integers(3)))
            records.append(("chr1", p, None, r.lower(), a.lower()) if kind == 0 else ("chr1", p, None, r, a))
        elif kind < 8:  # MNV
            ref = seq[p - 1:p + 1]
            if "N" not in ref:
                records.append(("chr1", p, f"m{p}", ref, "".join(other_base(b) for b in ref)))
        elif kind == 8:
            records.append(("chr1", p, None, other_base(r), r))  # REF mismatch
        elif rng.random() < 0.5:  # an insertion
            records.append(("chr1", p, None, r, r + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 4))))))
        else:  # a deletion
            ref = seq[p - 1:p + int(rng.integers(1, 4))]
            if "N" not in ref:
                records.append(("chr1", p, None, ref, r))
    records.append(("chr1", records[-1][1] + 1, "multi", seq[records[-1][1]], "A,C"))
    paths["vcf"] = write_vcf(d / "dense.vcf", records, {"chr1": len(seq)})
    hal = d / "hal.npz"
    np.savez(hal, weights=np.random.default_rng(0).normal(size=(4096, 8)))
    return paths, hal


@pytest.fixture()
def block_rows(monkeypatch):
    """Counts the rows (the indel rows, the rows of multi-ALT records) the block path scores, and
    the blocks per model call (one BlockRows each)."""
    from seqzoo.scoring import BlockRows

    counted = {"rows": 0, "indels": 0, "multi": 0, "calls": []}
    init = BlockRows.__init__

    def counting(self, blocks, spec):
        blocks = list(blocks)
        counted["calls"].append(len(blocks))
        for rows in blocks:
            counted["rows"] += len(rows)
            records = rows.records.tolist()
            alts = [rows.block.alt[r].split(",")[k] for r, k in zip(records, rows.alt_index.tolist())]
            counted["indels"] += sum(len(rows.block.ref[r]) != len(a) for r, a in zip(records, alts))
            counted["multi"] += sum("," in rows.block.alt[r] for r in records)
        init(self, blocks, spec)

    monkeypatch.setattr(BlockRows, "__init__", counting)
    return counted


def compare(model, paths, min_rows, counted, min_block_rows, min_indels=1, mnvs=True, min_multi=0, **kw):
    args = (paths["fasta"], paths["vcf"], paths["gtf"])
    fast = seqzoo.score_vcf(model, *args, chunk_rows=500, **kw)
    assert counted["rows"] >= min_block_rows  # these rows took the block path
    assert counted["indels"] >= min_indels  # indels among them
    assert counted["multi"] >= min_multi  # rows of multi-ALT records among them
    slow = seqzoo.score_vcf(model, *args, chunk_rows=500, vectorized=False, **kw)
    assert len(fast.rows) >= min_rows
    if mnvs:
        assert fast.rows.variant_id.str.startswith("m").any()  # MNVs among the rows
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
    fast = compare("HAL", paths, 80, block_rows, 70, weights=hal, min_multi=4)
    assert (fast.rows.alt_index > 0).sum() >= 4


@pytest.mark.parametrize("model,chunk_rows", [("HAL", 300), ("HAL", 7), ("Xpresso/human_median", 300),
                                              ("APARENT2", 300), ("Framepool", 300), ("Framepool", 7)])
def test_windows_of_blocks_equal_the_per_allele_path(data, tmp_path, model, chunk_rows):
    """``seqzoo windows`` (no weights needed) gives the same rows, sequences, skips and summary from
    blocks as from the per-allele path; blocks are cut to the chunk size (``--chunk-rows``)."""
    from seqzoo.api import iter_scores

    paths, _ = data
    if model == "Framepool":
        paths = make_utr_dataset(tmp_path, seed=9, n_genes=12, variants_per_utr=25, vcf_chr_prefix=False)
    args = (paths["fasta"], paths["vcf"], paths["gtf"])
    fast = seqzoo.windows_vcf(model, *args, chunk_rows=chunk_rows)
    slow = seqzoo.windows_vcf(model, *args, chunk_rows=chunk_rows, vectorized=False)
    if chunk_rows == 7:  # no chunk much larger than asked (a record's rows stay together)
        sizes = [len(c.rows) for c in iter_scores(model, *args, chunk_rows=chunk_rows, score=False)]
        assert len(sizes) > 10 and max(sizes) <= 2 * chunk_rows + 3
    assert len(fast.rows) >= 40 and (fast.rows.ref.str.len() != fast.rows.alt.str.len()).sum() >= 3
    pd.testing.assert_frame_equal(fast.rows, slow.rows)
    pd.testing.assert_frame_equal(fast.skipped, slow.skipped)
    assert fast.summary == slow.summary


def test_short_runs_are_blocks_scored_in_one_call_per_chunk(data, block_rows):
    """Runs of in-window records between per-allele records (REF mismatches, multi-ALT records)
    are blocks however short; a chunk's blocks share one model call."""
    paths, hal = data
    fast = compare("HAL", paths, 80, block_rows, 70, weights=hal)
    assert max(block_rows["calls"]) >= 5  # several short runs in one call
    assert len(block_rows["calls"]) <= -(-len(fast.rows) // 500) + 1  # about one call per chunk of 500 rows


def test_xpresso_blocks_equal_the_per_allele_path(data, block_rows):
    paths, _ = data
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    compare("Xpresso/human_median", paths, 100, block_rows, 2000)


def test_aparent2_blocks_equal_the_per_allele_path(data, block_rows):
    paths, _ = data
    require_weights("aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5")
    compare("APARENT2", paths, 40, block_rows, 40, incremental=False)


def test_framepool_blocks_equal_the_per_allele_path(tmp_path, block_rows):
    """5'UTRs of 1-3 exons on both strands, transcripts sharing exons; SNVs, insertions and
    deletions inside exons and at their first and last bases, and records crossing exon edges."""
    from seqzoo.genome.gtf import read_utr5_transcripts
    from seqzoo.genome.names import ContigNames
    from seqzoo.genome.fasta import Genome

    require_weights("Framepool_combined_residual.h5")
    paths = make_utr_dataset(tmp_path, seed=9, n_genes=24, variants_per_utr=25, vcf_chr_prefix=False)
    genome = Genome(paths["fasta"])
    seqs = {c: genome.fetch(c, 0, n) for c, n in genome.lengths.items()}
    rng = np.random.default_rng(4)
    records = [tuple(line.split("\t")[:5]) for line in paths["vcf"].read_text().splitlines()
               if not line.startswith("#")]
    records = [(c, int(p), None if i == "." else i, r, a) for c, p, i, r, a in records]
    for tx in read_utr5_transcripts(paths["gtf"], ContigNames(genome.lengths)):
        seq = seqs[tx.chrom]
        for s, e in tx.exons:  # first and last base of each exon; across each edge
            for p0 in (s, s + 1, e - 2, e - 1):
                r = seq[p0]
                records.append((tx.chrom, p0 + 1, None, r, other_base(r)))
                records.append((tx.chrom, p0 + 1, None, r, r + "GA"[: 1 + int(rng.integers(2))]))
                records.append((tx.chrom, p0 + 1, None, seq[p0:p0 + 2], r))
            records.append((tx.chrom, s, None, seq[s - 1:s + 1], seq[s - 1]))  # crosses the exon start
            m = (s + e) // 2  # multi-ALT: two SNVs; an SNV and an insertion; at the last base, one ALT crossing
            records.append((tx.chrom, m + 1, None, seq[m], f"{other_base(seq[m], 0)},{other_base(seq[m], 1)}"))
            records.append((tx.chrom, m + 2, None, seq[m + 1], f"{other_base(seq[m + 1])},{seq[m + 1]}T"))
            records.append((tx.chrom, e, None, seq[e - 1:e + 1], f"{seq[e - 1]},{other_base(seq[e - 1])}{seq[e]}"))
    order = {c: i for i, c in enumerate(genome.lengths)}
    records = sorted(set(records), key=lambda x: (order.get(x[0], 99), x[1], x[3], x[4]))
    paths["vcf"] = write_vcf(tmp_path / "edges.vcf", records, genome.lengths)
    fast = compare("Framepool", paths, 1500, block_rows, 1000, min_indels=500, mnvs=False, min_multi=100)
    assert (fast.skipped.reason == "crosses_utr_exon_boundary").sum() >= 30
