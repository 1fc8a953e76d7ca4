"""In-silico mutagenesis: every substitution of a window, its genome coordinates on both strands, the
scores equal to full forward passes of the mutated windows, fixed-window indels built by the model's
own window rule, the table and the mutation map through the command line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import seqzoo
from conftest import ROOT, require_weights
from seqzoo.cli import main
from seqzoo.encoding import reverse_complement

EX = ROOT / "examples"
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def genome_seq():
    return "".join(x.strip() for x in (EX / "genome.fa").read_text().splitlines()[1:])


@pytest.fixture(scope="module")
def hal_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("hal") / "hal.npz"
    np.savez(path, weights=np.random.default_rng(3).normal(size=(4096, 8)))
    return path


def check_coordinates(table, window):
    """Every row's genome base and position agree with the FASTA, whatever the strand."""
    seq = genome_seq()
    snv = table[table.kind == "snv"]
    for row in snv.itertuples():
        assert window.seq[row.window_index] == row.ref
        assert seq[row.pos - 1] == row.ref_forward  # forward-strand base at the 1-based position
        assert row.ref_forward == (row.ref if row.strand == "+" else row.ref.translate(COMPLEMENT))
        assert row.alt_forward == (row.alt if row.strand == "+" else row.alt.translate(COMPLEMENT))
    counts = snv.groupby("window_index").size()
    assert (counts == 3).all() and len(counts) == len(window.seq)


def full_pass(model, window, rows, **inputs):
    """Full passes of the alt windows of ``rows`` by the literal model (Framepool: convolution 1 as
    GEMMs, not the 7-mer table the incremental ISM uses)."""
    alt_seqs = [window.seq[:r.window_index] + r.alt + window.seq[r.window_index + 1:] for r in rows.itertuples()]
    return model.literal().predict_sequences(alt_seqs, **{k: np.repeat(np.asarray(v)[None], len(alt_seqs), 0)
                                                for k, v in inputs.items()})


@pytest.mark.parametrize("feature", ["TX0", "TX1"])  # '+' and '-'
def test_framepool_ism_equals_full_passes_with_indels(feature):
    require_weights("Framepool_combined_residual.h5")
    table, win = seqzoo.ism("Framepool", EX / "genome.fa", gtf=EX / "annotation.gtf", feature=feature, indels=True)
    window = win.window
    check_coordinates(table, window)
    model = seqzoo.load_model("Framepool").literal()
    snv = table[table.kind == "snv"]
    direct = full_pass(model, window, snv)
    np.testing.assert_allclose(snv.alt_mrl, direct["mrl"], atol=1e-5, rtol=0)
    ref = model.predict_sequences([window.seq])
    np.testing.assert_allclose(snv.mrl_fold_change, np.log2(direct["mrl"].astype(float) / ref["mrl"][0]), atol=1e-5)
    dels = table[table.kind == "deletion"]
    ins = table[table.kind == "insertion"]
    assert len(dels) == len(window.seq) and len(ins) == 4 * (len(window.seq) + 1)
    d = model.predict_sequences([window.seq[:i] + window.seq[i + 1:] for i in dels.window_index])
    np.testing.assert_allclose(dels.alt_mrl, d["mrl"], atol=1e-5, rtol=0)
    i = model.predict_sequences([window.seq[:k] + a + window.seq[k:] for k, a in zip(ins.window_index, ins.alt)])
    np.testing.assert_allclose(ins.alt_mrl, i["mrl"], atol=1e-5, rtol=0)


def test_hal_ism_and_fixed_window_indels_follow_the_window_rule(hal_table, caplog):
    """Fixed windows: a 1-nt deletion or insertion is applied to the genome by the model's window rule
    (the donor stays at index 80), exactly as the same indel from a VCF; an insertion at the window's
    outer edge (before index 0, after the last base) leaves it as it is: effect 0, not NaN."""
    table, win = seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", feature="TX1:donor1",
                            weights=hal_table, indels=True)
    assert table.alt_score.notna().all() and "indels have no alt window" not in caplog.text
    edges = table[(table.kind == "insertion") & table.window_index.isin([0, 160])]
    assert len(edges) == 8 and (edges.delta == 0).all()
    window = win.window
    check_coordinates(table, window)
    model = seqzoo.load_model("HAL", weights=hal_table)
    snv = table[table.kind == "snv"]
    np.testing.assert_allclose(snv.alt_score, full_pass(model, window, snv)["score"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(snv.delta, snv.alt_score - model.predict_sequences([window.seq])["score"][0], atol=1e-9)
    # a deletion through a VCF gives the same alt window as ISM's deletion at that index
    from seqzoo.windowing import VariantWindows
    from seqzoo.genome.vcf import VariantAllele
    from seqzoo import registry
    rule = VariantWindows(registry.get("HAL"), EX / "genome.fa", EX / "annotation.gtf").rule
    seq = genome_seq()
    row = table[(table.kind == "deletion") & (table.window_index == 40)].iloc[0]
    g = int(window.positions[40])  # 0-based genome position of the deleted base
    allele = VariantAllele(window.chrom, g, seq[g - 1:g + 1], seq[g - 1], None, 1, 0)
    pair = next(p for p in rule.windows(allele, window.chrom)[0] if p.feature_id == window.feature_id)
    assert row.alt_score == pytest.approx(model.predict_sequences([pair.alt_seq])["score"][0], abs=1e-9)
    assert len(pair.alt_seq) == 160 and pair.alt_seq[80] == window.seq[80] or window.strand == "-"


def test_indels_of_a_window_at_the_contigs_first_base_that_leave_the_contig_are_nan_not_zero(tmp_path, hal_table,
                                                                                              caplog):
    """A donor window [0, 160) starting at the contig's first base: ISM with indels runs (a crash
    fetching base -1 before), the deletions whose alt window the window rule cannot build (left of
    the donor each shifts in a base from before the contig) get NaN alt scores and effects with a
    warning (before: the reference window, an effect of exactly 0), an insertion before the first
    base leaves the window as it is (effect 0), and every other row equals the window rule's own
    alt window."""
    from seqzoo import registry
    from seqzoo.genome.vcf import VariantAllele
    from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf
    from seqzoo.windowing import VariantWindows
    seq = list(random_sequence(np.random.default_rng(5), 1000))
    seq[80:82] = "GT"  # exon 1 ends at base 80 (1-based): the donor window is [0, 160)
    seq = "".join(seq)
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    gtf = write_gtf(tmp_path / "a.gtf", [gtf_line("chr1", "exon", 1, 80, "+", "TP", "GP"),
                                         gtf_line("chr1", "exon", 301, 400, "+", "TP", "GP"),
                                         gtf_line("chr1", "exon", 1, 79, "+", "TQ", "GQ"),  # window [-1, 159)
                                         gtf_line("chr1", "exon", 301, 400, "+", "TQ", "GQ")])
    model = seqzoo.load_model("HAL", weights=hal_table)
    from seqzoo.errors import UsageError
    with pytest.raises(UsageError, match=r"'TQ:donor1': the HAL window leaves its contig: chr1:\[-1, 159\) \(0-based "
                                                r"half-open\) reaches 1 nt before the start of FASTA contig chr1 "
                                                r"\(length 1000\); there is no window to mutate"):
        seqzoo.ism([("HAL", model)], fasta, gtf, feature="TQ:donor1")  # (a traceback before)
    for incremental in (True, False):
        caplog.clear()
        table, win = seqzoo.ism([("HAL", model)], fasta, gtf, feature="TP:donor1", indels=True, incremental=incremental)
        assert win.window.seq == seq[:160] and len(table) == 3 * 160 + 160 + 4 * 161
        nan = table[table.alt_score.isna()]
        assert nan.delta.isna().all() and table.delta.notna().sum() == len(table) - len(nan)
        assert list(nan.kind) == ["deletion"] * 80 and list(nan.window_index) == list(range(80))  # left of the donor
        assert "80 of the 804 1-nt indels have no alt window" in caplog.text
        edge = table[(table.kind == "insertion") & (table.window_index == 0)]
        assert len(edge) == 4 and (edge.delta == 0).all()  # before the contig's first base: nothing pushed in
    rule = VariantWindows(registry.get("HAL"), fasta, gtf).rule
    for i in (80, 81, 120, 159):  # deletions right of the donor: the window rule's alt window
        allele = VariantAllele("chr1", i, seq[i - 1:i + 1], seq[i - 1], None, 1, 0)
        pair = next(p for p in rule.windows(allele, "chr1")[0] if p.feature_id == "TP:donor1")
        row = table[(table.kind == "deletion") & (table.window_index == i)].iloc[0]
        assert row.alt_score == pytest.approx(model.predict_sequences([pair.alt_seq])["score"][0], abs=1e-9)
    ins = table[(table.kind == "insertion") & (table.window_index == 1) & (table.alt == "G")].iloc[0]
    # left of the donor the inserted base pushes the first base out: the donor stays at index 80
    assert ins.alt_score == pytest.approx(model.predict_sequences(["G" + seq[1:160]])["score"][0], abs=1e-9)
    from seqzoo import plots  # the mutation map tells those cells apart from the reference's grey
    fig = plots.ism_figure(table, win)
    no_value = next(a for a in fig.axes[1].get_images() if a.get_gid() == "no_value")
    marked = np.isfinite(np.ma.filled(no_value.get_array(), np.nan))
    assert marked.sum() == 80 and marked[0, :80].all() and "yellow: not scored" in fig.axes[0].get_title(loc="left")


def test_a_deletion_leaving_a_5utr_without_bases_is_nan_not_an_error(tmp_path, caplog, monkeypatch):
    """Framepool ISM with indels of a 1-nt 5'UTR and of 'NNN' + one base: deleting the only A/C/G/T
    base leaves nothing to pool (score_vcf's window_without_bases); that row gets NaN with a warning
    (before: a ValueError ended the whole call, worded differently per path), every other row
    equals a full pass of its alt window by the literal model, on both paths; incremental=False
    computes convolution 1 as GEMMs (no 7-mer lookup), the incremental path by lookup."""
    import torch
    from seqzoo.nets import framepool_conv1 as fc
    from seqzoo.nets.framepool import Framepool
    lookups = []
    real_lookup = fc.conv1_lookup
    monkeypatch.setattr(fc, "conv1_lookup", lambda w, codes, *index: lookups.append(codes.shape) or real_lookup(w, codes, *index))
    from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf
    torch.manual_seed(4)
    model = Framepool().eval()  # random weights: no published file needed
    seq = list(random_sequence(np.random.default_rng(6), 1000))
    seq[500:503] = "NNN"
    seq = "".join(seq)
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    gtf = write_gtf(tmp_path / "a.gtf", [gtf_line("chr1", "five_prime_utr", 101, 101, "+", "U1", "G1"),
                                         gtf_line("chr1", "five_prime_utr", 501, 504, "+", "U2", "G2")])
    for feature, utr in (("U1", seq[100]), ("U2", seq[500:504])):
        for incremental in (True, False):
            caplog.clear()
            lookups.clear()
            table, win = seqzoo.ism([("Framepool", model)], fasta, gtf, feature=feature, indels=True,
                                    incremental=incremental)
            assert bool(lookups) == incremental
            snvs = sum(4 if b == "N" else 3 for b in utr)  # (every base for an N)
            assert win.window.seq == utr and len(table) == snvs + len(utr) + 4 * (len(utr) + 1)
            gone = table[table.alt_mrl.isna()]
            assert list(zip(gone.kind, gone.window_index)) == [("deletion", len(utr) - 1)]
            assert gone.mrl_fold_change.isna().all() and "1 of the" in caplog.text and \
                "leave no A/C/G/T base in the window" in caplog.text
            n_warning = ("U2: 3 of the window's 4 positions hold no A/C/G/T base (N at window index 0, ...), which the "
                         "model reads as unknown; their rows put each of A, C, G and T there (seqzoo score skips a "
                         "VCF REF that is not A/C/G/T as non_acgt_allele)")
            assert (n_warning in caplog.text) == (feature == "U2")
            rest = table[table.alt_mrl.notna()]
            alt = [utr[:i] + ("" if k == "deletion" else a) + utr[i + (k != "insertion"):]
                   for i, k, a in zip(rest.window_index, rest.kind, rest.alt)]
            np.testing.assert_allclose(rest.alt_mrl, model.literal().predict_sequences(alt)["mrl"], atol=1e-5, rtol=0)


def test_xpresso_ism_uses_the_genes_half_life_features():
    require_weights("humanMedian_trainepoch.11-0.426.h5")
    table, win = seqzoo.ism("Xpresso/human_median", EX / "genome.fa", gtf=EX / "annotation.gtf", feature="GENE0",
                            halflife_file=EX / "halflife.tsv")
    window = win.window
    assert window.notes == {"halflife_source": "file"} and len(table) == 3 * 10_500
    model = seqzoo.load_model("Xpresso/human_median")
    rows = table[table.window_index.isin([0, 6999, 7000, 7001, 10_499])]
    direct = full_pass(model, window, rows, halflife=window.inputs["halflife"])
    np.testing.assert_allclose(rows.alt_expression, direct["expression"], atol=1e-5, rtol=0)


def test_ism_warns_about_the_half_life_features_of_its_own_window_only(tmp_path, caplog):
    """seqzoo ism of one gene warns where that gene lacks half-life features, not about the other
    genes of the annotation the file lacks (a scoring run does: tests/test_xpresso_scoring.py)."""
    import logging

    from seqzoo.windows import tss

    class Stop(Exception):
        pass

    def stop(window):  # after the warnings, before the work
        raise Stop

    def warnings(feature, halflife):
        tss._WARNED.clear()
        caplog.clear()
        with pytest.raises(Stop):
            seqzoo.ism(("Xpresso/human_median", _random_xpresso()), EX / "genome.fa", gtf=EX / "annotation.gtf",
                       feature=feature, halflife_file=halflife, check_window=stop)
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    hl = tmp_path / "hl.tsv"  # GENE0 only, of the example annotation's GENE0..GENE3
    hl.write_text("gene_id\tf1\tf2\tf3\tf4\tf5\tf6\nGENE0\t0.5\t-1\t0.25\t2\t0.1\t-0.3\n")
    assert warnings("GENE0", hl) == []
    assert warnings("GENE1", hl) == [
        f"half-life file {hl} has no row for gene GENE1: its Xpresso window gets zeros for the six half-life "
        f"features (halflife_source=zeros_gene_not_in_file)"]
    versioned = tmp_path / "versioned.tsv"
    versioned.write_text("gene_id\tf1\tf2\tf3\tf4\tf5\tf6\nGENE0.3\t0.5\t-1\t0.25\t2\t0.1\t-0.3\n")
    assert warnings("GENE0", versioned) == [
        f"half-life file {versioned} has no row for gene GENE0: its Xpresso window gets zeros for the six half-life "
        f"features (halflife_source=zeros_gene_not_in_file). The file holds none of the annotation's genes (file: "
        f"GENE0.3): are the gene IDs written the same way (e.g. Ensembl version suffixes such as '.5')?"]
    assert [w[:40] for w in warnings("GENE1", None)] == ["Xpresso: no half-life file (--halflife-f"]


def test_ism_command_line_table_and_mutation_map(tmp_path, capsys):
    require_weights("Framepool_combined_residual.h5")
    out = tmp_path / "ism.tsv"
    assert main(["ism", "--model", "Framepool", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
                 "--feature", "TX1", "-o", str(out)]) == 0
    assert "seqzoo ism Framepool: 180 variants of TX1 (60 nt)" in capsys.readouterr().err
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns[:12]) == ["model", "feature_id", "gene_id", "window_index", "chrom", "pos", "strand",
                                       "ref", "alt", "ref_forward", "alt_forward", "kind"]
    assert (tmp_path / "ism.tsv.png").stat().st_size > 10_000
    from seqzoo import plots
    _, win = seqzoo.ism("Framepool", EX / "genome.fa", gtf=EX / "annotation.gtf", feature="TX1")
    fig = plots.ism_figure(table, win)
    image = next(a for a in fig.axes[0].get_images() if a.get_gid() == "ism")
    grid = image.get_array()
    assert grid.shape == (4, 60)
    for i, base in enumerate(win.window.seq):  # the reference base has no value (grey), the others do
        assert np.ma.is_masked(grid[ "ACGT".index(base), i]) or np.isnan(grid["ACGT".index(base), i])
        assert np.isfinite(np.delete(np.ma.filled(grid[:, i], np.nan), "ACGT".index(base))).all()
    assert any(line.get_gid() == "landmark:3' end (start codon next)" for line in fig.axes[0].get_lines())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][:5] == list(win.window.seq[:5])
    assert main(["ism", "--model", "Framepool", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
                 "--feature", "NOPE", "-o", str(tmp_path / "x.tsv")]) == 2
    assert "Framepool has no feature 'NOPE' (e.g. TX0, TX1" in capsys.readouterr().err
    assert main(["ism", "--model", "Framepool", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
                 "--feature", "TX1", "-o", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err.strip() == (f"seqzoo: error: output {tmp_path / 'x.png'} must end in .tsv, .tsv.gz "
                                               f"or .parquet (the mutation-map figure is --plot FILE.png)")


def test_the_mutation_map_keeps_strong_effects_where_columns_are_pooled(monkeypatch):
    """More positions shown than MAX_ISM_COLUMNS: each column is the effect farthest from no effect
    among its positions (a single strong one is not dropped), and the title says how many; short
    windows carry the window index below the reference letters."""
    require_weights("Framepool_combined_residual.h5")
    from seqzoo import plots
    table, win = seqzoo.ism("Framepool", EX / "genome.fa", gtf=EX / "annotation.gtf", feature="TX1")
    table["mrl_fold_change"] = 0.0
    spikes = {(13, "A"): 5.0, (14, "C"): -7.0, (41, "G"): 3.0}
    for (i, alt), value in spikes.items():
        table.loc[(table.window_index == i) & (table.alt == alt), "mrl_fold_change"] = value
    monkeypatch.setattr(plots, "MAX_ISM_COLUMNS", 16)  # 60 positions -> 4 a column
    fig = plots.ism_figure(table, win)
    grid = np.ma.filled(next(a for a in fig.axes[0].get_images() if a.get_gid() == "ism").get_array(), np.nan)
    assert grid.shape == (4, 15)
    assert grid[0, 3] == 5.0 and grid[1, 3] == -7.0 and grid[2, 10] == 3.0  # positions 12..15 and 40..43
    assert np.nansum(np.abs(grid)) == 15.0
    assert "each column the strongest effect of 4 positions" in fig.axes[0].get_title(loc="left")
    assert fig.axes[0].get_xlim() == (-0.5, 59.5)
    grouped = plots._strongest_per_column(np.array([[1.0, -3.0, np.nan, 2.0, np.nan]]), 1.0, 2)
    np.testing.assert_array_equal(grouped, [[-3.0, 2.0, np.nan]])
    monkeypatch.undo()
    fig = plots.ism_figure(table, win)
    (index,) = [a for a in fig.axes[0].child_axes if a.get_gid() == "window_index"]
    assert list(index.get_xticks()) == [0, 10, 20, 30, 40, 50]
    assert index.get_xlabel().startswith("reference base (above) and window index 0..59")


def test_the_mutation_map_shows_deletions_and_insertions_on_the_substitutions_scale():
    """With indels, the second heat map holds per window index the deletion of that base (row 0) and
    the insertion of A, C, G, T before it (rows 1-4), the table's values, on the substitutions'
    colour scale; the insertions after the last base in a last column "end" (no deletion there)."""
    require_weights("Framepool_combined_residual.h5")
    from seqzoo import plots
    table, win = seqzoo.ism("Framepool", EX / "genome.fa", gtf=EX / "annotation.gtf", feature="TX1", indels=True)
    assert (table.kind == "insertion").sum() == 4 * 61 and (table.kind == "deletion").sum() == 60
    fig = plots.ism_figure(table, win)
    ism = next(a for a in fig.axes[0].get_images() if a.get_gid() == "ism")
    indels = next(a for a in fig.axes[1].get_images() if a.get_gid() == "indels")
    grid = np.ma.filled(indels.get_array(), np.nan)
    assert grid.shape == (5, 61) and np.isfinite(grid[:, :60]).all() and np.isnan(grid[0, 60])
    dels = table[table.kind == "deletion"].set_index("window_index").mrl_fold_change
    ins = table[table.kind == "insertion"]
    np.testing.assert_array_equal(grid[0, :60], dels.loc[range(60)].to_numpy())
    for row, base in enumerate("ACGT", start=1):
        one = ins[ins.alt == base].set_index("window_index").mrl_fold_change
        np.testing.assert_array_equal(grid[row], one.loc[range(61)].to_numpy())
    assert [p.get_gid() for p in fig.axes[1].patches] == ["end_no_deletion"]
    ticks = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert ticks[:60] == list(win.window.seq) and ticks[60] == "end"
    assert fig.axes[1].get_xlim() == (-0.5, 60.5) and fig.axes[0].get_xlim() == (-0.5, 60.5)
    part = plots.ism_figure(table, win, positions=(0, 29))  # the end not shown: no end column
    assert np.ma.filled(next(a for a in part.axes[1].get_images() if a.get_gid() == "indels").get_array(),
                        np.nan).shape == (5, 30) and not part.axes[1].patches
    assert indels.norm is ism.norm and [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["del", "+A", "+C",
                                                                                                  "+G", "+T"]
    assert max(abs(indels.norm.vmin), abs(indels.norm.vmax)) == pytest.approx(
        np.nanmax(np.abs(table.mrl_fold_change.to_numpy())))


def test_ism_of_a_variants_window_and_of_a_region(hal_table, tmp_path):
    """--vcf/--variant: the variant's window; --region: models with a region mode only."""
    table, win = seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table,
                            vcf=EX / "variants.vcf", variant="chr1:11764:A>G")
    assert win.window.feature_id == "TX0:donor2" and len(table) == 3 * 160
    with pytest.raises(seqzoo.errors.UsageError, match="has no region mode"):
        seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table, region="chr1:100-200")
    with pytest.raises(seqzoo.errors.UsageError, match=r"^model Framepool has no region mode \(its windows come from "
                                                       r"features\): use --feature or --vcf/--variant$"):
        seqzoo.ism("Framepool", EX / "genome.fa", region="chr1:100-200")  # (not 'Framepool needs --gtf')
    bpnet = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"
    table, win = seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=bpnet, region="chr1:20000-20100")
    assert win.window.feature_id == "1:19549-20549" and len(table) == 3000  # centred on 0-based [19999, 20100)
    model = seqzoo.load_model("BPNet-OSKN", weights=bpnet)
    rows = table.iloc[[0, 1500, 2999]]
    direct = full_pass(model, win.window, rows)
    np.testing.assert_allclose(rows["alt_Oct4/log_total_counts"], direct["Oct4/log_total_counts"], atol=1e-5)
    assert reverse_complement("AC") == "GT"


def test_ism_mistakes_are_named_before_the_work_and_the_variant_is_marked(hal_table, tmp_path, capsys, caplog):
    """A reversed region, an ID absent from the VCF, a variant outside every window (with the
    reason), a figure path without a figure suffix: one-line errors; an output folder that does not
    exist yet is made; a variant's mutation map marks the variant at its window index."""
    from seqzoo import plots

    bpnet = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"
    with pytest.raises(seqzoo.errors.UsageError, match="the start must be at least 1 and at most the end"):
        seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=bpnet, region="chr1:1200-1000")
    caplog.clear()
    absent = tmp_path / "absent.h5"  # the region's contig and bounds are checked before the weights load
    with pytest.raises(seqzoo.errors.UsageError) as err:  # the error alone, no warning saying it first
        seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=absent, region="chr9:100-300")
    assert str(err.value) == ("--region 'chr9:100-300': contig 'chr9' matches no FASTA contig (chr prefix, chrM/MT and "
                              "case tried; FASTA: 1)")
    assert "matches no FASTA contig" not in caplog.text
    # a malformed region is named before the set-up: with weights that do not exist, still the region
    for bad, why in (("chr1:20000", "expected chrom:start-end"), ("chr1:0-5", "the start must be at least 1")):
        with pytest.raises(seqzoo.errors.UsageError, match=f"^--region '{bad}': {why}"):
            seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=tmp_path / "absent.h5", region=bad)
    with pytest.raises(seqzoo.errors.UsageError, match=r"--region 'chr1:10-20': the 1000-nt window 1:\[-486, 514\) "
                                                       r"\(0-based half-open\) reaches 486 nt before the start of "
                                                       r"FASTA contig 1 \(length 60000\)$"):
        seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=absent, region="chr1:10-20")
    with pytest.raises(seqzoo.errors.UsageError, match="^give exactly one of --feature ID, --region"):
        seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=absent, region="chr9:100-300", feature="x")
    hal = dict(gtf=EX / "annotation.gtf", weights=hal_table, vcf=EX / "variants.vcf")
    with pytest.raises(seqzoo.errors.UsageError, match=r"--variant 'rs999': no allele of .*variants.vcf has this "
                                                       r"variant_id \(its ID column, or chrom:pos:REF>ALT"):
        seqzoo.ism("HAL", EX / "genome.fa", variant="rs999", **hal)
    with pytest.raises(seqzoo.errors.UsageError, match=r"--variant 'intergenic' gives no window of HAL in .*: "
                                                       r"not_in_donor_window \(the variant overlaps no 160-nt 5' splice-donor window"):
        seqzoo.ism("HAL", EX / "genome.fa", variant="intergenic", **hal)
    argv = ["ism", "--model", "HAL", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
            "--weights", str(hal_table), "--vcf", str(EX / "variants.vcf"), "--variant", "chr1:11764:A>G"]
    assert main(argv + ["-o", str(tmp_path / "a.tsv"), "--plot", str(tmp_path / "map.txt")]) == 2
    assert "--plot " + str(tmp_path / "map.txt") + ": the figure's format comes from its suffix; give a path " \
           "ending in .png, .pdf or .svg" in capsys.readouterr().err
    assert not (tmp_path / "a.tsv").exists()  # refused before any work
    out = tmp_path / "new" / "folder" / "ism.tsv"
    assert main(argv + ["-o", str(out)]) == 0
    assert out.exists() and out.with_name("ism.tsv.png").exists()
    table, win = seqzoo.ism("HAL", EX / "genome.fa", variant="chr1:11764:A>G", **hal)
    assert win.variant_id == "chr1:11764:A>G" and win.window.positions[win.variant_index] == 11764 - 1
    assert table[table.window_index == win.variant_index].ref.iloc[0] == "A"
    fig = plots.ism_figure(table, win)
    (line,) = [x for x in fig.axes[0].get_lines() if x.get_gid() == "variant"]
    assert line.get_xdata()[0] == win.variant_index



def test_ism_refuses_an_output_that_is_the_halflife_file(tmp_path, capsys):
    """-o on the --halflife-file given is refused before anything is read or written (it replaced
    the half-life file with the ISM table)."""
    halflife = tmp_path / "halflife.tsv"
    halflife.write_text((EX / "halflife.tsv").read_text())
    argv = ["ism", "--model", "Xpresso/human_median", "--fasta", str(EX / "genome.fa"), "--gtf",
            str(EX / "annotation.gtf"), "--feature", "GENE1", "--halflife-file", str(halflife)]
    assert main(argv + ["-o", str(halflife)]) == 2
    assert (f"output -o {halflife} is the input --halflife-file {halflife}; writing it would destroy the input"
            in capsys.readouterr().err)
    assert halflife.read_text() == (EX / "halflife.tsv").read_text()
    assert not halflife.with_name("halflife.tsv.png").exists()


def test_the_variant_is_found_by_id_without_windowing_the_whole_vcf(hal_table, tmp_path, caplog):
    """--variant reads the VCF once and windows only the matching records: an ID, a derived
    chrom:pos:REF>ALT of a multi-allelic record whose ID is '.' or empty, ':' in a contig name and
    in a symbolic or breakend ALT, an ID on two records (both found, the first used); no warning
    about the other records' contigs (the example VCF's chrUn is not in the FASTA)."""
    from seqzoo.mutagenesis import alleles_with_id
    from seqzoo.synthetic import write_vcf

    vcf = write_vcf(tmp_path / "v.vcf", [("chr1", 100, "rs1", "A", "G"), ("chr1", 200, None, "C", "T,G"),
                                         ("HLA-A*01:01:01:01", 200, None, "C", "T"), ("chr2", 200, None, "C", "G"),
                                         ("chr1", 300, "rs1", "T", "A"), ("chr1", 400, None, "A", "<DEL:ME>"),
                                         ("chr1", 500, None, "G", "G]chr2:321]")])
    text = vcf.read_text() + "chr1\t600\t\tC\tT\t.\t.\t.\n"  # an empty ID column: no ID either
    vcf.write_text(text)
    got = {v: [(a.chrom, a.pos, a.alt, a.record, a.alt_index) for a in alleles_with_id(vcf, v)]
           for v in ("rs1", "chr1:200:C>G", "HLA-A*01:01:01:01:200:C>T", "chr2:200:C>T", "rs2", "chr1:200",
                     "chr1:400:A><DEL:ME>", "chr1:500:G>G]chr2:321]", "chr1:600:C>T", "chr1:\u00b2:A>G")}
    assert got == {"rs1": [("chr1", 100, "G", 1, 0), ("chr1", 300, "A", 5, 0)], "chr1:200:C>G": [("chr1", 200, "G", 2, 1)],
                   "HLA-A*01:01:01:01:200:C>T": [("HLA-A*01:01:01:01", 200, "T", 3, 0)], "chr2:200:C>T": [],
                   "rs2": [], "chr1:200": [], "chr1:400:A><DEL:ME>": [("chr1", 400, "<DEL:ME>", 6, 0)],
                   "chr1:500:G>G]chr2:321]": [("chr1", 500, "G]chr2:321]", 7, 0)],
                   "chr1:600:C>T": [("chr1", 600, "T", 8, 0)],
                   "chr1:\u00b2:A>G": []}
    caplog.clear()
    table, win = seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table,
                            vcf=EX / "variants.vcf", variant="chr1:11764:A>G")
    assert win.variant_id == "chr1:11764:A>G" and len(table) == 3 * 160
    assert "chrUn" in (EX / "variants.vcf").read_text() and "chrUn" not in caplog.text


def test_a_feature_in_the_gtf_without_a_window_is_told_apart_from_a_typo(tmp_path):
    """A transcript without a 5'UTR (in the GTF, gzipped too) is not "no feature": the error says it
    is in the GTF but names no Framepool window, and how the windows are named."""
    require_weights("Framepool_combined_residual.h5")
    import gzip

    gtf = tmp_path / "genes.gtf"
    extra = "".join(f'1\tsynthetic\t{kind}\t40000\t41000\t.\t+\t.\tgene_id "GENEC"; transcript_id "TXC";\n'
                    for kind in ("transcript", "exon", "CDS"))
    gtf.write_text((EX / "annotation.gtf").read_text() + extra)
    gz = tmp_path / "genes.gtf.gz"
    gz.write_bytes(gzip.compress(gtf.read_bytes()))
    for path in (gtf, gz):
        with pytest.raises(seqzoo.errors.UsageError) as caught:
            seqzoo.ism("Framepool", EX / "genome.fa", gtf=path, feature="TXC")
        assert str(caught.value) == (f"'TXC' is in {path}, but names no Framepool window (5'UTR; its 4 windows are "
                                     f"named like TX0, TX1, TX2, TX3)")
    with pytest.raises(seqzoo.errors.UsageError, match=r"^Framepool has no feature 'TX' \(e.g. TX0"):
        seqzoo.ism("Framepool", EX / "genome.fa", gtf=gtf, feature="TX")  # a prefix of real IDs is not a mention


def test_a_window_leaving_its_contig_is_named_as_such(tmp_path, hal_table):
    """A 5'UTR exon past its contig's end (a GTF of another assembly) and a donor window reaching
    before a contig's start: both say which window leaves the contig and by how much (seqzoo score
    skips their variants as window_past_contig_end)."""
    require_weights("Framepool_combined_residual.h5")
    from seqzoo.synthetic import gtf_line, write_fasta, write_gtf

    fasta = write_fasta(tmp_path / "g.fa", {"chrT": "ACGT" * 75})  # 300 nt
    lines = [gtf_line("chrT", kind, s, e, "+", "TXE", "GE") for kind, s, e in (
        ("transcript", 101, 330), ("exon", 101, 150), ("exon", 281, 330), ("five_prime_utr", 101, 150),
        ("five_prime_utr", 281, 310), ("CDS", 311, 330))]
    lines += [gtf_line("chrT", kind, s, e, "+", "TXN", "GN") for kind, s, e in (  # (so not every 5'UTR is past)
        ("transcript", 30, 60), ("exon", 30, 60), ("five_prime_utr", 30, 50), ("CDS", 51, 60))]
    lines += [gtf_line("chrT", kind, s, e, "+", "TXD", "GD") for kind, s, e in (
        ("transcript", 5, 200), ("exon", 5, 20), ("exon", 120, 200))]
    gtf = write_gtf(tmp_path / "a.gtf", lines)
    with pytest.raises(seqzoo.errors.UsageError) as caught:
        seqzoo.ism("Framepool", fasta, gtf=gtf, feature="TXE")
    assert str(caught.value) == ("'TXE': the Framepool window leaves its contig: 5'UTR exon 2 of 2 chrT:[280, 310) "
                                 "(0-based half-open) reaches 10 nt past the end of FASTA contig chrT (length 300); "
                                 "there is no window to mutate")
    with pytest.raises(seqzoo.errors.UsageError) as caught:
        seqzoo.ism("HAL", fasta, gtf=gtf, feature="TXD:donor1", weights=hal_table)
    assert str(caught.value).startswith("'TXD:donor1': the HAL window leaves its contig: chrT:[-60, 100) (0-based "
                                        "half-open) reaches 60 nt before the start of FASTA contig chrT")


def test_the_mutation_map_of_a_spliced_5utr_marks_its_exon_junction_and_the_notes(tmp_path):
    """A two-exon 5'UTR's map has a dotted line between the last index of exon 1 and the first of
    exon 2 (transcript orientation, '-' strand here) and says '2 exons, 80 nt' in its title (its
    genome span, intron included, is not the window); a window's notes (Xpresso's halflife_source)
    are in the title. Random weights: no file needed."""
    from seqzoo import plots
    from seqzoo.nets.framepool import Framepool
    from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf

    torch.manual_seed(0)
    seq = random_sequence(np.random.default_rng(5), 3000)
    fasta = write_fasta(tmp_path / "g.fa", {"1": seq})
    gtf = write_gtf(tmp_path / "a.gtf", [gtf_line("1", "five_prime_utr", 1001, 1030, "-", "TM", "GM"),
                                         gtf_line("1", "five_prime_utr", 1801, 1850, "-", "TM", "GM"),
                                         gtf_line("1", "CDS", 700, 1000, "-", "TM", "GM")])
    table, win = seqzoo.ism(("Framepool", Framepool().eval()), fasta, gtf, feature="TM")
    assert len(win.window.seq) == 80 and list(win.window.positions[49:51]) == [1800, 1029]  # 0-based, falling
    fig = plots.ism_figure(table, win)
    junctions = [line.get_xdata()[0] for line in fig.axes[0].get_lines() if line.get_gid() == "junction"]
    assert junctions == [49.5]
    assert fig.axes[0].get_title(loc="left").startswith("Framepool in-silico mutagenesis of TM (1:1001-1850 (-), "
                                                        "2 exons, 80 nt)\n")
    from seqzoo.synthetic import write_vcf
    vcf = write_vcf(tmp_path / "v.vcf", [("1", 1003, "near_end", seq[1002], "ACGT"[("ACGT".index(seq[1002]) + 1) % 4])],
                    {"1": 3000})
    v_table, v_win = seqzoo.ism(("Framepool", Framepool().eval()), fasta, gtf, vcf=vcf, variant="near_end")
    assert v_win.variant_index == 77  # 2 from the landmark at 79: its label one row higher
    labels = {t.get_text(): t.xyann for t in plots.ism_figure(v_table, v_win).axes[0].texts}
    assert labels["near_end (77)"] == (3, 14) and labels["3' end (start codon next) (79)"] == (0, 3)
    ex_table, ex_win = seqzoo.ism(("Xpresso/human_median", _random_xpresso()), EX / "genome.fa",
                                  EX / "annotation.gtf", feature="GENE2")
    ex_fig = plots.ism_figure(ex_table, ex_win)
    assert "; halflife_source=zeros\n" in ex_fig.axes[0].get_title(loc="left")
    assert not [line for line in ex_fig.axes[0].get_lines() if line.get_gid() == "junction"]


def _random_xpresso():
    from seqzoo.nets.xpresso import Xpresso
    torch.manual_seed(1)
    return Xpresso().eval()


def test_ism_newcomer_mistakes_are_caught_before_the_work(hal_table, tmp_path, capsys, caplog):
    """A --score the model does not have is refused before any scoring and leaves no table; an ID
    whose '>ALT' the shell took is named as such; a region longer than the window is mutated over the
    window centred on it, with a warning saying which bases; the summary line gives a region
    window's 0-based name in 1-based coordinates too."""
    argv = ["ism", "--model", "HAL", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
            "--weights", str(hal_table), "--feature", "TX0:donor2"]
    out = tmp_path / "h.tsv"
    assert main(argv + ["--score", "mrl_fold_change", "-o", str(out)]) == 2
    assert ("--score 'mrl_fold_change': not an effect score of HAL; use one of: delta, sigmoid_delta"
            in capsys.readouterr().err)
    assert not out.exists() and not out.with_name("h.tsv.png").exists()
    several = ["ism", "--model", "Framepool,HAL", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
               "--feature", "TX0", "--score", "delta", "-o", str(out)]
    assert main(several) == 2  # one model, said as such (not "'delta' is not an effect score of Framepool")
    assert "seqzoo ism takes one model (--model NAME), not 'Framepool,HAL'" in capsys.readouterr().err
    with pytest.raises(seqzoo.errors.UsageError, match=r"'chr1:11764:A' has no '>ALT': quote the ID, e\.g\. "
                                                       r"--variant 'chr1:11764:A>ALT'"):
        seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table, vcf=EX / "variants.vcf",
                   variant="chr1:11764:A")
    bpnet = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"
    with caplog.at_level("WARNING"):
        table, win = seqzoo.ism("BPNet-OSKN", EX / "genome.fa", weights=bpnet, region="chr1:20000-21500")
    assert ("--region chr1:20000-21500: 1,501 nt, longer than the 1000-nt window of BPNet-OSKN; mutating the 1000 "
            "nt centred on it, 1:20250-21249 (1-based), not the 501 nt outside that") in caplog.text
    assert win.window.feature_id == "1:20249-21249" and table.pos.min() == 20250 and table.pos.max() == 21249
    capsys.readouterr()
    assert main(["ism", "--model", "BPNet-OSKN", "--weights", str(bpnet), "--fasta", str(EX / "genome.fa"),
                 "--region", "chr1:20000-21500", "-o", str(tmp_path / "b.tsv")]) == 0
    assert ("seqzoo ism BPNet-OSKN: 3000 variants of 1:20249-21249 (0-based half-open; 1:20250-21249 1-based) "
            "(1000 nt)") in capsys.readouterr().err
    from seqzoo import plots
    title = plots.ism_figure(table, win).axes[0].get_title(loc="left")
    assert title.startswith("BPNet-OSKN in-silico mutagenesis of the window 1:20250-21249 (+) (ID 1:20249-21249: "
                            "0-based half-open)")


def test_the_mutation_map_colours_one_sided_scores_with_half_the_scale():
    """Values all on one side of the no-effect value (a distance, never below 0) get only that half of
    the diverging scale (white at no effect, full colour at the largest); values on both sides the
    whole scale centred on no effect; NaN (the reference base) grey."""
    from seqzoo.plots import _ism_colours
    cmap, norm = _ism_colours(np.array([0.01, 0.02, np.nan]), 0.0)
    assert (norm.vmin, norm.vmax) == (0.0, 0.02)
    assert np.allclose(cmap(norm(0.0))[:3], (0.968627, 0.968627, 0.968627), atol=0.02)  # RdBu_r's white
    assert cmap(norm(0.02))[0] > 0.35 and cmap(norm(0.02))[2] < 0.2  # dark red
    cmap, norm = _ism_colours(np.array([0.5, 0.9]), 1.0)  # all below a centre of 1
    assert (norm.vmin, norm.vmax) == (0.5, 1.0) and cmap(norm(0.5))[2] > cmap(norm(0.5))[0]  # blue
    cmap, norm = _ism_colours(np.array([-2.0, 1.0]), 0.0)
    assert (norm.vmin, norm.vcenter, norm.vmax) == (-2.0, 0.0, 2.0)
    assert np.allclose(cmap(np.nan), (0xd9 / 255, 0xd9 / 255, 0xd9 / 255, 1.0))


def test_a_deletions_replaced_bases_are_hatched_in_the_mutation_map(hal_table):
    """--variant of a deletion: the dashed line at its first REF base, its REF bases (the ones it
    deletes and the anchor) hatched; on '-' they lie left of the first REF base's window index."""
    from seqzoo import plots
    table, win = seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table,
                            vcf=EX / "variants.vcf", variant="chr1:23563:GAC>G")
    assert win.window.strand == "-" and win.variant_index == 116 and win.variant_span == (114, 116)
    positions = np.asarray(win.window.positions)
    assert list(positions[114:117]) == [23564, 23563, 23562]  # 0-based, forward: REF GAC at 23562..23564
    fig = plots.ism_figure(table, win)
    (band,) = [p for p in fig.axes[0].patches if p.get_gid() == "variant_ref"]
    assert (band.get_x(), band.get_x() + band.get_width()) == (113.5, 116.5)
    assert "chr1:23563:GAC>G (REF at 114..116)" in [t.get_text() for t in fig.axes[0].texts]


def test_plot_positions_choose_the_part_of_a_long_window_the_map_shows(hal_table, tmp_path, capsys):
    """--plot-positions FIRST-LAST (0-based window indices, inclusive) picks the map's columns and its
    colour scale spans their values; a bad form or a range outside the window is refused before
    anything is written."""
    from seqzoo import plots
    table, win = seqzoo.ism("HAL", EX / "genome.fa", gtf=EX / "annotation.gtf", weights=hal_table,
                            feature="TX0:donor2")
    fig = plots.ism_figure(table, win, positions=(70, 89))
    image = next(a for a in fig.axes[0].get_images() if a.get_gid() == "ism")
    assert image.get_array().shape == (4, 20) and tuple(image.get_extent()[:2]) == (69.5, 89.5)
    shown = table[(table.kind == "snv") & table.window_index.between(70, 89)].delta
    assert max(abs(image.norm.vmin), abs(image.norm.vmax)) == pytest.approx(np.abs(shown).max())
    assert "positions 70..89 of 160 shown" in fig.axes[0].get_title(loc="left")
    argv = ["ism", "--model", "HAL", "--fasta", str(EX / "genome.fa"), "--gtf", str(EX / "annotation.gtf"),
            "--weights", str(hal_table), "--feature", "TX0:donor2"]
    for bad, message in (("70", "--plot-positions '70': expected FIRST-LAST, 0-based window indices"),
                         ("150-160", "--plot-positions 150-160: the window has indices 0..159; give FIRST-LAST")):
        assert main(argv + ["--plot-positions", bad, "-o", str(tmp_path / "x.tsv")]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "x.tsv").exists()
    assert main(argv + ["--plot-positions", "0-159", "-o", str(tmp_path / "y.tsv"), "-q"]) == 0
    assert (tmp_path / "y.tsv.png").stat().st_size > 10_000
    # the range is checked against the window before any prediction (check_window), not after the work
    model = seqzoo.load_model("HAL", weights=hal_table)
    calls = []
    model.predict_sequences = model.predict_edits = lambda *a, **k: calls.append(1)
    with pytest.raises(seqzoo.errors.UsageError, match="--plot-positions 150-160: the window has indices 0..159"):
        seqzoo.ism([("HAL", model)], EX / "genome.fa", gtf=EX / "annotation.gtf", feature="TX0:donor2",
                   check_window=lambda w: plots.check_ism_positions((150, 160), len(w.seq)))
    assert calls == []
