"""`seqzoo plot`: what the figures show (axes, labels, artists), not only that a file is written.

Figure builders are pure functions of (spec, window pair, ref/alt predictions), so most tests feed
them hand-made predictions whose every value is known; a few run the command line end to end
(HAL with a random table and BPNet with the stand-in fixture need no published weights; APARENT2
and Framepool skip loudly without theirs).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, require_weights
from seqzoo import registry
from seqzoo.cli import main
from seqzoo.errors import UsageError
from seqzoo.genome.vcf import VariantAllele
from seqzoo.plots import (MIN_HISTOGRAM, VariantSpan, choose_row, effect_values, effects_figure, first_difference,
                          variant_figure, variant_span)
from seqzoo.synthetic import make_gene_model_dataset, random_sequence
from seqzoo.windows.base import WindowPair

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.colors import to_rgba  # noqa: E402

APARENT2 = "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5"
BPNET_FIXTURE = ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5"


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt
    yield
    plt.close("all")


# -- helpers ---------------------------------------------------------------------------------------
def make_pair(model: str, ref_seq: str, alt_seq: str, ref: str, alt: str, feature="TX1", strand="+",
              vid="v1") -> WindowPair:
    allele = VariantAllele("chr1", 1000, ref, alt, vid, 1, 0)
    return WindowPair(allele, feature, "G1", strand, ref_seq, alt_seq, ref_key="key", model=model)


def snv(length: int, index: int, seed: int = 0) -> tuple[str, str, str, str]:
    """(ref window, alt window, REF, ALT) of an SNV at ``index`` of a random window."""
    seq = random_sequence(np.random.default_rng(seed), length)
    alt_base = "A" if seq[index] != "A" else "C"
    return seq, seq[:index] + alt_base + seq[index + 1:], seq[index], alt_base


def by_gid(ax, gid: str, kind: str = "lines") -> list:
    return [a for a in getattr(ax, kind) if a.get_gid() == gid]


def axis_with_ylabel(fig, start: str) -> list:
    return [ax for ax in fig.axes if ax.get_ylabel().startswith(start)]


def all_text(fig) -> str:
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    return "\n".join(texts)


# -- where the variant is --------------------------------------------------------------------------
def test_first_difference():
    assert first_difference("ACGTA", "ACCTA") == 2 and first_difference("ACG", "ACGT") == 3


def test_variant_span_snv_and_indels():
    # SNV
    assert variant_span("ACGTACGT", "ACGAACGT", "T", "A") == VariantSpan(3, 4, 3, 4)
    # insertion 3' of the anchor (fixed length: trimmed at the 3' end): the prefix stays in register
    ref = "ACGTACCTGATC"
    alt = ref[:5] + "GG" + ref[5:-2]
    assert variant_span(ref, alt, "A", "AGG") == VariantSpan(5, 5, 5, 7)
    # deletion 5' of the anchor (fixed length: reference pulled in at the 5' end): the suffix stays
    ref = "TTTTACGTCAGGCATGCA"
    alt = "GA" + ref[:10] + ref[12:]
    assert variant_span(ref, alt, "AGG", "A") == VariantSpan(10, 12, 12, 12)
    # a 5'UTR (variable length): both sides in register
    assert variant_span("ACGTTGCA", "ACGTGCA", "TT", "T") == VariantSpan(4, 5, 4, 4)


# -- choosing the row ------------------------------------------------------------------------------
def test_choose_row_by_feature_and_alt():
    rows = [(make_pair("APARENT2", "A", "C", "A", a, feature=f), {}, {}) for f in ("TX1", "TX2") for a in ("C", "G")]
    assert choose_row(rows)[0].feature_id == "TX1" and choose_row(rows)[0].allele.alt == "C"
    assert choose_row(rows, "TX2")[0].feature_id == "TX2"
    chosen = choose_row(rows, "TX2", "G")[0]
    assert (chosen.feature_id, chosen.allele.alt) == ("TX2", "G")
    with pytest.raises(UsageError, match=r"--feature TX9 matches no row.*features are TX1, TX2; its ALTs are C, G"):
        choose_row(rows, "TX9")
    with pytest.raises(UsageError, match=r"--alt T matches no row.*ALTs are C, G"):
        choose_row(rows, alt="T")


# -- APARENT2: profile, no-cleavage bin apart, delta, landmarks ------------------------------------
def aparent2_predictions():
    ref = np.full(206, 0.0002)
    ref[100] += 0.05
    ref[205] = 0.0
    ref[205] = 1 - ref.sum()  # ~0.91: would squash the profile if drawn on its axis
    alt = ref.copy()
    alt[100] -= 0.03
    alt[103] += 0.02
    alt[205] += 0.01
    as_pred = lambda p: {"cut_prob": p.astype(np.float32), "iso_prob": np.float32(p[80:110].sum()),  # noqa: E731
                         "cut_logits": np.log(p).astype(np.float32)}
    return as_pred(ref), as_pred(alt)


def test_aparent2_figure():
    spec = registry.get("APARENT2")
    ref_seq, alt_seq, r, a = snv(205, 30)
    pair = make_pair("APARENT2", ref_seq, alt_seq, r, a)
    ref, alt = aparent2_predictions()
    fig = variant_figure(spec, pair, ref, alt)

    (prof,) = axis_with_ylabel(fig, "cut_prob")
    (ref_line,), (alt_line,) = by_gid(prof, "ref"), by_gid(prof, "alt")
    # positions 0..204 only: the no-cleavage bin 205 is not on the profile axis
    assert list(ref_line.get_xdata()) == list(range(205))
    np.testing.assert_allclose(ref_line.get_ydata(), ref["cut_prob"][:205])
    np.testing.assert_allclose(alt_line.get_ydata(), alt["cut_prob"][:205])
    assert prof.get_ylim()[1] < 0.2
    assert to_rgba(ref_line.get_color()) != to_rgba(alt_line.get_color())
    assert ref_line.get_linestyle() != alt_line.get_linestyle()
    assert {"ref", "alt", "variant"} <= {t.get_text() for t in prof.get_legend().get_texts()}
    # landmarks and the variant
    assert by_gid(prof, "landmark:PAS")[0].get_xdata()[0] == 70
    assert by_gid(prof, "landmark:cleavage site")[0].get_xdata()[0] == 100
    assert by_gid(prof, "variant")[0].get_xdata()[0] == 30
    assert "PAS (70)" in all_text(fig) and "cleavage site (100)" in all_text(fig)
    # the no-cleavage bin on its own axis, ref and alt bars with their values
    (bins_ax,) = [ax for ax in fig.axes if by_gid(ax, "bins", "patches")]
    bars = by_gid(bins_ax, "bins", "patches")
    np.testing.assert_allclose([b.get_height() for b in bars], [ref["cut_prob"][205], alt["cut_prob"][205]],
                               rtol=1e-6)
    assert "no cleavage" in bins_ax.get_title() and bins_ax is not prof
    # delta panel: alt - ref per position
    (delta_ax,) = axis_with_ylabel(fig, "Δ cut_prob")
    assert "alt − ref" in delta_ax.get_ylabel()
    d = by_gid(delta_ax, "delta", "patches")
    assert len(d) == 205
    np.testing.assert_allclose([b.get_height() for b in d], (alt["cut_prob"] - ref["cut_prob"])[:205], atol=1e-7)
    assert by_gid(delta_ax, "landmark:PAS")[0].get_xdata()[0] == 70
    assert "window index (transcript orientation" in delta_ax.get_xlabel()
    # the scores in the title, formulas in the footer
    eff = effect_values(spec, ref, alt)
    assert f"delta_logodds = {eff['delta_logodds']:.4g}" in prof.get_title(loc="left")
    assert "delta_logodds_narrow" in prof.get_title(loc="left")
    assert "logit(sum alt cut_prob[77:127])" in all_text(fig)
    # iso_prob bars beside the delta panel
    assert any(ax.get_title() == "iso_prob" for ax in fig.axes)


# -- BPNet: strands in their colours, counts as bars ------------------------------------------------
def bpnet_predictions(seed=0):
    rng = np.random.default_rng(seed)
    out = [{}, {}]
    for t in ("Oct4", "Sox2", "Nanog", "Klf4"):
        logits = rng.normal(size=(1000, 2)).astype(np.float32)
        counts = rng.uniform(1, 4, size=2).astype(np.float32)
        for i, p in enumerate(out):
            lg = logits + (0.5 * rng.normal(size=(1000, 2)).astype(np.float32) if i else 0)
            c = counts + (0.3 if i else 0)
            soft = np.exp(lg) / np.exp(lg).sum(0)
            p[f"{t}/profile"] = lg
            p[f"{t}/counts"] = c.astype(np.float32)
            p[f"{t}/profile_counts"] = (soft * np.exp(c)).astype(np.float32)
            p[f"{t}/log_total_counts"] = np.float32(np.log1p(np.maximum(np.exp(c) - 1, 0).sum()))
    return out


def test_bpnet_figure():
    spec = registry.get("BPNet-OSKN")
    ref_seq, alt_seq, r, a = snv(1000, 500)
    pair = make_pair("BPNet-OSKN", ref_seq, alt_seq, r, a, feature="chr1:500-1500")
    ref, alt = bpnet_predictions()
    fig = variant_figure(spec, pair, ref, alt)
    profiles = axis_with_ylabel(fig, "profile_counts")
    assert len(profiles) == 4
    titles = [ax.get_title(loc="left") for ax in profiles]
    for task, ax, title in zip(("Oct4", "Sox2", "Nanog", "Klf4"), profiles, titles):
        assert title.startswith(f"{task}: ") and "delta_log_counts" in title and "profile_jsd" in title
        lines = {g: by_gid(ax, g)[0] for g in ("ref +", "alt +", "ref −", "alt −")}
        assert len({to_rgba(line.get_color()) for line in lines.values()}) == 4  # strands and ref/alt apart
        assert (lines["ref +"].get_ydata() >= 0).all() and (lines["ref −"].get_ydata() <= 0).all()  # − mirrored
        np.testing.assert_allclose(-lines["alt −"].get_ydata(), alt[f"{task}/profile_counts"][:, 1])
        assert by_gid(ax, "variant")[0].get_xdata()[0] == 500
    # counts: a bar chart, ref and alt per strand, heights the predicted counts
    counts_axes = [ax for ax in fig.axes if any("counts +" in t.get_text() for t in ax.texts)]
    assert len(counts_axes) == 4
    for task, ax in zip(("Oct4", "Sox2", "Nanog", "Klf4"), counts_axes):
        refs, alts = by_gid(ax, "ref", "patches"), by_gid(ax, "alt", "patches")
        np.testing.assert_allclose([b.get_height() for b in refs], ref[f"{task}/counts"], rtol=1e-6)
        np.testing.assert_allclose([b.get_height() for b in alts], alt[f"{task}/counts"], rtol=1e-6)
        assert not [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_gid() in ("ref", "alt")]
    deltas = axis_with_ylabel(fig, "Δ profile_counts")
    assert len(deltas) == 4 and by_gid(deltas[0], "delta +") and by_gid(deltas[0], "delta −")


# -- scalar models: ref vs alt dots, effects with formulas, landmark in words, sequence ------------
SCALAR_CASES = {
    "Framepool": (60, 4, {"mrl": 6.0, "mrl_unscaled": 1.0, "mrl_shift_1": 5.0, "mrl_shift_2": 5.5},
                  {"mrl": 6.2, "mrl_unscaled": 1.1, "mrl_shift_1": 4.9, "mrl_shift_2": 5.5},
                  ("mrl", "mrl_shift_1", "mrl_shift_2"), ("3' end (start codon next)", 59)),
    "Xpresso/human_median": (10500, 6990, {"expression": -0.43}, {"expression": -0.41}, ("expression",),
                             ("TSS", 7000)),
    "HAL": (160, 83, {"score": -16.0}, {"score": -15.0}, ("score",), ("donor (intron +1)", 80)),
}


@pytest.mark.parametrize("model", list(SCALAR_CASES))
def test_scalar_figure(model):
    length, index, ref, alt, shown, (landmark, at) = SCALAR_CASES[model]
    ref = {k: np.float32(v) for k, v in ref.items()}
    alt = {k: np.float32(v) for k, v in alt.items()}
    spec = registry.get(model)
    ref_seq, alt_seq, r, a = snv(length, index)
    fig = variant_figure(spec, make_pair(model, ref_seq, alt_seq, r, a), ref, alt)
    # ref vs alt: one row per output, dots in two colours at the predicted values
    (dots,) = [ax for ax in fig.axes if ax.get_title(loc="left") == "prediction, ref vs alt"]
    labels = [t.get_text().split("\n")[0] for t in dots.get_yticklabels()]
    assert labels == list(shown)
    (ref_dots,), (alt_dots,) = by_gid(dots, "ref", "collections"), by_gid(dots, "alt", "collections")
    np.testing.assert_allclose(ref_dots.get_offsets()[:, 0], [ref[k] for k in shown], rtol=1e-6)
    np.testing.assert_allclose(alt_dots.get_offsets()[:, 0], [alt[k] for k in shown], rtol=1e-6)
    assert to_rgba(ref_dots.get_facecolor()[0]) != to_rgba(alt_dots.get_facecolor()[0])
    assert dots.get_xlabel()  # the unit
    # every effect score with its value and its formula/unit
    eff = effect_values(spec, ref, alt)
    text = all_text(fig)
    for name in spec.effect_names:
        assert f"{name} = {eff[name]:.4g}" in text
        assert spec.effect_docs[name][:40] in text.replace("\n", " ")
    # the window map: landmark at its index, the variant, the landmark in words
    (mp,) = [ax for ax in fig.axes if ax.get_xlabel().startswith("window index")]
    assert by_gid(mp, f"landmark:{landmark}")[0].get_xdata()[0] == at
    assert by_gid(mp, "variant")[0].get_xdata()[0] == index
    assert f"{landmark} ({at})" in mp.get_title(loc="left")
    assert f"variant at window index {index}" in mp.get_title(loc="left")
    # the sequence strip: ref and alt bases around the variant, the changed base on both rows
    (strip,) = [ax for ax in fig.axes if ax.get_xlabel().startswith("ref window index")]
    bases = [t for t in strip.texts if t.get_gid() == "base"]
    assert len(bases) == 2 * (min(index, 20) + 1 + min(20, length - index - 1))
    changed = [t.get_text() for t in bases if t.get_position()[0] == 0]
    assert sorted(changed) == sorted([r, a])
    assert [t.get_text() for t in strip.get_yticklabels()] == ["ref", "alt"]


def test_generic_figure_for_a_model_without_an_entry():
    """A plug-in: vector outputs as ref/alt/delta lines, scalars as bars, no landmarks."""
    from dataclasses import replace
    spec = replace(registry.get("APARENT2"), name="MyPlugin")
    ref_seq, alt_seq, r, a = snv(205, 12)
    ref, alt = aparent2_predictions()
    fig = variant_figure(spec, make_pair("MyPlugin", ref_seq, alt_seq, r, a), ref, alt)
    (prof,) = axis_with_ylabel(fig, "cut_prob")
    assert len(by_gid(prof, "ref")[0].get_xdata()) == 205  # 206 entries: the one past the window not a position
    assert not [ln for ax in fig.axes for ln in ax.lines if (ln.get_gid() or "").startswith("landmark")]
    assert by_gid(prof, "variant")[0].get_xdata()[0] == 12


def test_toy_plugin_through_the_command_line(tmp_path, monkeypatch, capsys):
    """The toy plug-in (one-hot profile (11, 4), counts of A, C, G, T) from VCF to figure: one
    colour per profile column, ref and alt one-hot exactly, the scalars as bars."""
    import json
    from seqzoo import api
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugins"))
    import seqzoo_toy
    monkeypatch.setitem(registry.MODELS, "ToyBaseCounts", seqzoo_toy.SPEC)
    weights = tmp_path / "toy.json"
    weights.write_text(json.dumps({"pseudocount": 0}))
    d = ROOT / "models" / "BPNet-OSKN" / "example_files"
    out = tmp_path / "toy.png"
    assert main(["plot", "variant", "--model", "ToyBaseCounts", *example("BPNet-OSKN"), "--weights", str(weights),
                 "--variant", "multi", "--alt", "A", "-o", str(out), "--quiet"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    rows = api.variant_predictions("ToyBaseCounts", d / "genome.fa", d / "variants.vcf", "multi", weights=weights)
    pair, ref, alt = choose_row(rows, alt="A")
    fig = variant_figure(seqzoo_toy.SPEC, pair, ref, alt)
    (prof,) = axis_with_ylabel(fig, "profile")
    colours = {to_rgba(by_gid(prof, f"ref [{k}]")[0].get_color()) for k in range(4)}
    assert len(colours) == 4
    assert by_gid(prof, "variant")[0].get_xdata()[0] == 5  # the toy window's centre
    # column 0 is A: the alt window has an A at the centre, the ref window a C
    assert by_gid(prof, "alt [0]")[0].get_ydata()[5] == 1 and by_gid(prof, "ref [0]")[0].get_ydata()[5] == 0
    (bars_ax,) = [ax for ax in fig.axes if by_gid(ax, "ref", "patches")]
    assert [t.get_text() for t in bars_ax.get_xticklabels()] == [f"count_{b}" for b in "ACGT"]
    np.testing.assert_allclose([b.get_height() for b in by_gid(bars_ax, "ref", "patches")],
                               [ref[f"count_{b}"] for b in "ACGT"])
    assert "delta_gc = -1" in prof.get_title(loc="left")


# -- effect distributions ----------------------------------------------------------------------------
def test_effects_figure_histogram_strip_and_labels():
    import pandas as pd
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"model": ["APARENT2"] * 40 + ["Framepool"] * 6 + ["HAL"] * 4,
                          "delta_logodds": list(rng.normal(size=40)) + [np.nan] * 10,
                          "mrl_fold_change": [np.nan] * 40 + [0.1, -0.2, 0.05, np.nan, 0.3, -0.01] + [np.nan] * 4,
                          "sigmoid_delta": [np.nan] * 46 + [0.9, 0.9, 0.1, 0.7]})
    fig = effects_figure(table, {"APARENT2": "delta_logodds", "Framepool": "mrl_fold_change",
                                 "HAL": "sigmoid_delta"})
    hist_ax, strip_ax, hal_ax = fig.axes
    assert "n = 40" in hist_ax.get_title(loc="left") and "delta_logodds" in hist_ax.get_title(loc="left")
    assert hist_ax.get_xlabel().startswith("delta_logodds: logit(sum alt cut_prob[0:205])")
    assert "log odds" in hist_ax.get_xlabel()
    assert sum(p.get_height() for p in by_gid(hist_ax, "histogram", "patches")) == 40
    assert all(float(t).is_integer() for t in hist_ax.get_yticks())
    assert by_gid(hist_ax, "zero")[0].get_xdata()[0] == 0
    # n < MIN_HISTOGRAM: the values as dots, no histogram
    assert 5 < MIN_HISTOGRAM
    assert "n = 5" in strip_ax.get_title(loc="left") and "no histogram" in strip_ax.get_title(loc="left")
    assert not by_gid(strip_ax, "histogram", "patches")
    (dots,) = by_gid(strip_ax, "values", "collections")
    assert sorted(dots.get_offsets()[:, 0]) == sorted([0.1, -0.2, 0.05, 0.3, -0.01])
    assert {"0.1", "-0.2", "0.3"} <= {t.get_text() for t in strip_ax.texts}
    assert "log2 fold change" in strip_ax.get_xlabel()
    assert by_gid(strip_ax, "zero")[0].get_xdata()[0] == 0
    # a score whose no-effect value is not 0; equal values as one dot with their count
    assert by_gid(hal_ax, "zero")[0].get_xdata()[0] == 0.5
    assert "no effect (0.5)" in {t.get_text() for t in hal_ax.texts}
    assert "0.9 ×2" in {t.get_text() for t in hal_ax.texts}
    assert len(by_gid(hal_ax, "values", "collections")[0].get_offsets()) == 3


# -- matplotlib stays optional -----------------------------------------------------------------------
def test_matplotlib_is_imported_lazily_and_its_absence_is_a_clear_error(monkeypatch):
    code = "import sys, seqzoo.plots, seqzoo.cli; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    from seqzoo import plots
    from seqzoo.outputs import MissingDependencyError
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'seqzoo\[plot\]'"):
        plots._pyplot()


def test_plots_reachable_from_a_bare_import_seqzoo():
    """The README's `seqzoo.plots.ism_figure(table, window)` works after `import seqzoo` alone (the
    submodule is imported on first use, as the API is); other names still raise AttributeError."""
    code = ("import sys, seqzoo; assert 'seqzoo.plots' not in sys.modules; f = seqzoo.plots.ism_figure; "
            "assert seqzoo.registry.get('Framepool').name == 'Framepool'\n"
            "try:\n    seqzoo.no_such_name\nexcept AttributeError as e:\n    assert 'no_such_name' in str(e)\n"
            "else:\n    raise SystemExit('no AttributeError')")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- the command line, end to end -------------------------------------------------------------------
def example(model: str) -> list[str]:
    d = ROOT / "models" / model / "example_files"
    out = ["--fasta", str(d / "genome.fa"), "--vcf", str(d / "variants.vcf")]
    return out + (["--gtf", str(d / "annotation.gtf")] if (d / "annotation.gtf").exists() else [])


def test_cli_variant_hal_alt_choice_and_errors(tmp_path, capsys):
    table = tmp_path / "hal.npz"
    np.savez(table, weights=np.random.default_rng(0).normal(size=(4096, 8)))
    args = ["plot", "variant", "--model", "HAL", *example("HAL"), "--weights", str(table), "--variant", "multi"]
    out = tmp_path / "hal.png"
    assert main([*args, "--alt", "G", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert "drawing HAL T2:donor1 ALT G" in capsys.readouterr().err
    assert main([*args, "--alt", "T", "-o", str(out)]) == 2
    assert "--alt T matches no row of variant multi: its features are T2:donor1; its ALTs are C, G" in \
        capsys.readouterr().err
    assert main([*args, "--feature", "nope", "-o", str(out)]) == 2
    assert "its features are T2:donor1" in capsys.readouterr().err


def test_bpnet_fixture_predictions(tmp_path):
    """Real predictions (the stand-in fixture weights) of the multi-allelic example record, ALT G."""
    from seqzoo import api
    from seqzoo.plots import plot_variant
    d = ROOT / "models" / "BPNet-OSKN" / "example_files"
    rows = api.variant_predictions("BPNet-OSKN", d / "genome.fa", d / "variants.vcf", "multi", weights=BPNET_FIXTURE)
    pair, ref, alt = choose_row(rows, alt="G")
    assert pair.allele.alt == "G" and len(rows) == 2
    fig = variant_figure(registry.get("BPNet-OSKN"), pair, ref, alt)
    (oct4,) = [ax for ax in fig.axes if ax.get_title(loc="left").startswith("Oct4: ")]
    assert by_gid(oct4, "variant")[0].get_xdata()[0] == 500
    counts_ax = [ax for ax in fig.axes if any("counts +" in t.get_text() for t in ax.texts)][0]
    np.testing.assert_allclose([b.get_height() for b in by_gid(counts_ax, "ref", "patches")], ref["Oct4/counts"],
                               rtol=1e-6)
    out = plot_variant(registry.get("BPNet-OSKN"), pair, ref, alt, tmp_path / "bpnet.pdf")
    assert out.read_bytes()[:4] == b"%PDF"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_gene_model_dataset(tmp_path_factory.mktemp("plots"), seed=4)


def files(d):
    return ["--fasta", str(d["fasta"]), "--gtf", str(d["gtf"]), "--vcf", str(d["vcf"])]


def test_cli_effects_png_and_pdf(data, tmp_path):
    require_weights("Framepool_combined_residual.h5")
    require_weights(APARENT2)
    scores = tmp_path / "s.parquet"
    assert main(["score", "--model", "Framepool,APARENT2", *files(data), "-o", str(scores), "--quiet"]) == 0
    for out in (tmp_path / "e.png", tmp_path / "e.pdf"):
        assert main(["plot", "effects", "--scores", str(scores), "-o", str(out)]) == 0
        head = out.read_bytes()[:8]
        assert out.stat().st_size > 5_000 and head[:4] in (b"\x89PNG", b"%PDF")
    import pandas as pd
    one = tmp_path / "one.tsv"  # a one-model table (no model column): the model found by its effect columns
    table = pd.read_parquet(scores)
    table[table.model == "APARENT2"].drop(columns=["model", "ref_cut_prob", "alt_cut_prob", "delta_cut_prob"],
                                         errors="ignore").to_csv(one, sep="\t", index=False)
    assert main(["plot", "effects", "--scores", str(one), "--score", "delta_logodds", "-o",
                 str(tmp_path / "one.png")]) == 0
    assert main(["plot", "effects", "--scores", str(one), "--score", "nope", "-o", str(tmp_path / "x.png")]) == 2


def test_cli_variant_aparent2_feature_and_alt(tmp_path, capsys):
    require_weights(APARENT2)
    args = ["plot", "variant", "--model", "APARENT2", *example("APARENT2"), "--variant", "multi"]
    out = tmp_path / "track.png"
    assert main([*args, "--feature", "TP2", "--alt", "G", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10_000
    err = capsys.readouterr().err
    assert "has 4 rows" in err and "drawing APARENT2 TP2 ALT G" in err
    assert main([*args[:-1], "nope", "-o", str(out)]) == 2
