"""Alleles outside every model's features: the vectorised path (whole-genome VCFs) finds exactly the
alleles the per-allele path finds, and OUT.outside.tsv (runs) accounts for them, so that
alleles == scored + skip rows + alleles in runs holds from the files alone."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import seqzoo
from seqzoo.cli import main
from seqzoo.synthetic import make_gene_model_dataset, other_base, write_vcf

MODEL_SETS = ["Framepool", "APARENT2", "Xpresso/human_median", "HAL", "Framepool,APARENT2,HAL"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """The gene-model genome and a dense random VCF of every kind of record, near features and far."""
    d = tmp_path_factory.mktemp("outside")
    paths = make_gene_model_dataset(d, seed=4, n_genes=4)
    seq = "".join(x.strip() for x in paths["fasta"].read_text().splitlines()[1:])
    rng = np.random.default_rng(9)
    records = []
    for k, p in enumerate(sorted(rng.choice(np.arange(1, len(seq) - 5), size=3000, replace=False))):
        p = int(p)
        r = seq[p - 1]
        kind = rng.integers(12)
        vid = f"rs{rng.integers(2500)}" if rng.random() < 0.7 else None  # repeats: duplicate IDs
        if kind < 6:
            rec = (p, r, other_base(r, int(rng.integers(3))))
        elif kind == 6:
            rec = (p, seq[p - 1:p + 2], r)                                  # deletion
        elif kind == 7:
            rec = (p, r, r + "GA")                                          # insertion
        elif kind == 8:
            rec = (p, r, f"{other_base(r, 0)},{other_base(r, 1)}")           # multi-allelic
        elif kind == 9:
            rec = (p, other_base(r, 2), r)                                  # REF mismatch
        elif kind == 10:
            rec = (p, r.lower(), other_base(r, 0).lower())                  # lower case
        else:
            rec = (p, r, ["N", "<DEL>", "*", "."][int(rng.integers(4))])
        records.append(("chr1", rec[0], vid, rec[1], rec[2]))
    records.append(("chr1", len(seq) + 5, "beyond", "A", "G"))
    records.append(("chrUn", 10, "unknown", "A", "G"))
    vcf = write_vcf(d / "dense.vcf", records, {"chr1": len(seq)})
    return dict(paths, vcf=vcf)


def expand(runs: pd.DataFrame, rows_mode_skips: pd.DataFrame) -> pd.DataFrame:
    """The alleles the runs stand for, as the per-allele skip rows of the same alleles."""
    keys = set()
    for r in runs.itertuples():
        first, last = (r.first_record, r.first_alt_index), (r.last_record, r.last_alt_index)
        for k in rows_mode_skips.itertuples():
            if first <= (k.record, k.alt_index) <= last:
                keys.add((k.record, k.alt_index))
    return rows_mode_skips[[(a, b) in keys for a, b in zip(rows_mode_skips.record, rows_mode_skips.alt_index)]]


@pytest.mark.parametrize("models", MODEL_SETS)
def test_fast_outside_path_equals_the_per_allele_path(data, models):
    names = models.split(",")
    per_allele = seqzoo.windows_vcf(names, data["fasta"], data["vcf"], data["gtf"], report_outside="rows",
                                    chunk_rows=97)
    fast = seqzoo.windows_vcf(names, data["fasta"], data["vcf"], data["gtf"], report_outside="runs", chunk_rows=97)
    pd.testing.assert_frame_equal(fast.rows, per_allele.rows)
    assert fast.summary == per_allele.summary
    assert fast.summary["outside_alleles"] == fast.outside["alleles"].sum() > 300
    assert fast.summary["duplicate_ids"] > 100  # the repeated rsIDs, counted the same way on both paths
    outside = expand(fast.outside, per_allele.skipped)
    assert len(outside) == fast.outside["alleles"].sum()
    assert set(outside.reason) == set(fast.outside.reason) and len(set(outside.reason)) == 1
    kept = per_allele.skipped.drop(outside.index).reset_index(drop=True)
    pd.testing.assert_frame_equal(fast.skipped, kept)
    # every allele accounted for from the outputs alone
    s = fast.summary
    scored = len(set(zip(fast.rows.record, fast.rows.alt_index)))
    allele_skips = fast.skipped[fast.skipped.feature_id == ""]
    allele_skips = allele_skips[~allele_skips.duplicated(["record", "alt_index"])] if len(names) > 1 else allele_skips
    assert s["alleles"] == scored + len(allele_skips) + fast.outside["alleles"].sum()


def test_outside_file_of_a_cli_run_and_its_resume(data, tmp_path):
    out = tmp_path / "w.tsv"
    assert main(["windows", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
                 "--vcf", str(data["vcf"]), "-o", str(out), "-q", "--chunk-rows", "50"]) == 0
    runs = pd.read_csv(f"{out}.outside.tsv", sep="\t")
    assert list(runs.columns) == ["first_record", "first_alt_index", "last_record", "last_alt_index", "alleles",
                                  "first_at", "last_at", "reason"]
    assert (runs.reason == "not_in_5utr").all()
    summary = json.loads((tmp_path / "w.tsv.summary.json").read_text())
    assert summary["skipped_by_reason"]["not_in_5utr"] == runs.alleles.sum() == summary["outside_alleles"]
    skipped = pd.read_csv(f"{out}.skipped.tsv", sep="\t", keep_default_na=False)
    assert "not_in_5utr" not in set(skipped.reason)
    rows_mode = tmp_path / "r.tsv"
    assert main(["windows", "--model", "Framepool", "--fasta", str(data["fasta"]), "--gtf", str(data["gtf"]),
                 "--vcf", str(data["vcf"]), "-o", str(rows_mode), "-q", "--report-outside", "rows"]) == 0
    assert (rows_mode.read_text() == out.read_text())
    every = pd.read_csv(f"{rows_mode}.skipped.tsv", sep="\t", keep_default_na=False)
    assert (every.reason == "not_in_5utr").sum() == runs.alleles.sum()


def test_multi_allelic_records_outside_every_feature_take_the_fast_path(data, tmp_path):
    """A record whose ALTs (comma-separated) are all A/C/G/T and whose REF overlaps no feature is
    outside for every ALT: the fast path takes it (one item for a run of such records, its ALT count
    kept) and gives what the per-allele path gives; an empty ALT ('C,', ',C', 'C,,G'), '*', N or a
    symbolic ALT beside it sends the record to the per-allele path (its skip rows), and a
    multi-allelic record inside a window is scored per allele."""
    from seqzoo import api
    from seqzoo.genome.vcf import iter_record_blocks
    from seqzoo.windowing import FastIndex

    seq = "".join(x.strip() for x in data["fasta"].read_text().splitlines()[1:])
    templates = ["{0},{1}", "{0},{1},{2}", "{l0},{l1}", "{0},", ",{0}", "{0},,{1}", "{0},*", "{0},N", "{0},<DEL>",
                 "{0}A,{1}", "{0}"]
    fast_expected = [True, True, True, False, False, False, False, False, False, True, True]
    records = []
    for i, template in enumerate(templates):
        p = 100 + 10 * i  # before every window of the four models (the first gene's Xpresso window starts at 4,000)
        r = seq[p - 1]
        o = [other_base(r, k) for k in range(3)]
        records.append(("chr1", p, f"m{i}", r, template.format(*o, l0=o[0].lower(), l1=o[1].lower())))
    p = 11_010  # inside TX0's 5'UTR (Framepool)
    records.append(("chr1", p, "in_utr", seq[p - 1], f"{other_base(seq[p - 1], 0)},{other_base(seq[p - 1], 1)}"))
    vcf = write_vcf(tmp_path / "multi.vcf", records, {"chr1": len(seq)})

    names = ["Framepool", "APARENT2", "Xpresso/human_median", "HAL"]
    setup = api.setup_run(names, data["fasta"], vcf, data["gtf"], score=False)
    (block,) = iter_record_blocks(vcf)
    outside, inside, _, n_alts = FastIndex(setup.windows.rules, setup.windows.genome, setup.windows.names).classify(block)
    assert outside.tolist() == fast_expected + [False] and not inside.any()
    assert n_alts.tolist() == [2, 3, 2, 2, 2, 3, 2, 2, 2, 2, 1, 2]

    per_allele = seqzoo.windows_vcf(names, data["fasta"], vcf, data["gtf"], report_outside="rows")
    fast = seqzoo.windows_vcf(names, data["fasta"], vcf, data["gtf"], report_outside="runs")
    pd.testing.assert_frame_equal(fast.rows, per_allele.rows)
    assert fast.summary == per_allele.summary and fast.summary["alleles"] == 25
    assert set(zip(fast.rows.record, fast.rows.alt_index)) == {(12, 0), (12, 1)}  # the 5'UTR record, per allele
    outside_skips = expand(fast.outside, per_allele.skipped)
    assert len(outside_skips) == fast.outside["alleles"].sum() == fast.summary["outside_alleles"] == 17
    runs = fast.outside[["first_record", "first_alt_index", "last_record", "last_alt_index", "alleles"]]
    assert runs.values.tolist()[0] == [1, 0, 4, 0, 8]  # records 1-3 (2 + 3 + 2 ALTs) and record 4's first ALT
    reasons = per_allele.skipped.set_index(["record", "alt_index"]).reason
    assert reasons[(4, 1)] == "no_alt_allele" and reasons[(7, 1)] == "spanning_deletion_alt"
    assert reasons[(8, 1)] == "non_acgt_allele" and reasons[(9, 1)] == "symbolic_alt"


def test_runs_end_at_a_skipped_alt_also_across_chunks_and_resumes(data, tmp_path):
    """Outside alleles on either side of a skipped ALT ('*', N) are two runs, whichever path (fast or
    per allele) gives them; with one record per chunk, a run that ends at a record's first ALT is
    not continued by the next chunk, nor by a run resumed from its progress note (the note keeps
    ends_record), so every resumed run lists the same runs as an uninterrupted one."""
    import json

    from seqzoo import registry
    from seqzoo.windowing import OutsideRun, VariantWindows

    seq = "".join(x.strip() for x in data["fasta"].read_text().splitlines()[1:])
    templates = ["{0},*", "{0}", "{0},{1}", "{0}", "{0},N", "{0}"]
    records = []
    for i, template in enumerate(templates):
        p = 100 + 10 * i
        r = seq[p - 1]
        records.append(("chr1", p, f"r{i + 1}", r, template.format(*[other_base(r, k) for k in range(3)])))
    vcf = write_vcf(tmp_path / "star.vcf", records, {"chr1": len(seq)})
    spec = registry.get("Framepool")

    def run(after=0, open_run=None):
        windows = VariantWindows(spec, data["fasta"], data["gtf"])
        return list(windows.chunks(vcf, 1, after_record=after, outside_runs=True, open_run=open_run))

    def spans(runs):
        return [(*r.first, *r.last, r.alleles) for r in runs]

    whole = run()
    assert spans(r for c in whole for r in c.outside) == [(1, 0, 1, 0, 1), (2, 0, 5, 0, 5), (6, 0, 6, 0, 1)]
    assert whole[0].open_run is not None and whole[0].open_run.ends_record is False  # (1, 1) is the '*'
    for k, chunk in enumerate(whole[:-1], start=1):  # stop after chunk k, resume from its note
        note = json.loads(json.dumps(chunk.open_run.as_note())) if chunk.open_run else None
        resumed = run(chunk.last_record, OutsideRun.from_row(note) if note else None)
        done = [r for c in whole[:k] for r in c.outside]
        assert spans(done + [r for c in resumed for r in c.outside]) == spans(r for c in whole for r in c.outside), k


def test_summary_line_says_where_the_skipped_alleles_are_listed():
    from collections import Counter

    from seqzoo.accounting import RunSummary
    s = RunSummary(records=5, alleles=5, rows=2, scored_alleles=2, skipped=Counter(not_in_5utr=2, ref_mismatch=1),
                   outside_alleles=2)
    assert s.line(outside_runs=True) == (
        "records=5 alleles=5 rows=2 scored_alleles=2 skipped=3 (skipped by reason: not_in_5utr=2, ref_mismatch=1; 2 of "
        "them outside every window, listed as runs in the .outside.tsv, the others in the .skipped.tsv)")
    # --report-outside rows, the Kipoi dataloader: they are rows of the skip report, not runs
    assert s.line().endswith("skipped=3 (skipped by reason: not_in_5utr=2, ref_mismatch=1)")
    s.outside_alleles = 0
    assert s.line(outside_runs=True).endswith("skipped=3 (skipped by reason: not_in_5utr=2, ref_mismatch=1)")
