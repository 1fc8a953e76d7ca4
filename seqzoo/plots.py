"""Plots (matplotlib; PNG or PDF by the output's suffix): effect-score distributions per model, and
one variant's ref vs alt predictions with their difference.

Every figure is built by a function that returns the matplotlib ``Figure`` (:func:`effects_figure`,
:func:`variant_figure`) and written by :func:`save`, so that tests and notebooks can inspect the
artists. Artists worth finding carry a ``gid``: ``"ref"`` / ``"alt"`` (``"ref +"``, ``"alt −"`` per
strand), ``"delta"``, ``"variant"``, ``"landmark:<label>"``, ``"region:<label>"``, ``"bins"``,
``"values"`` (the dots of a small-n strip), ``"zero"``.

Coordinates: a *window index* is a 0-based position in the model's input sequence, in model
orientation (transcript orientation for the transcript-anchored models: reverse-complemented for
'-' features; the forward strand for BPNet). The per-position outputs are indexed the same way.

What the spec does not say about a model's figure (its landmarks, which entries of an output are not
window positions, strand names, units) lives in one table, :data:`MODEL_PLOTS`; everything else is
derived from the spec (outputs, vector shapes, effect names and docs). A plug-in model without an
entry gets the generic figure: per-position outputs as ref/alt/delta lines, scalars as bars.

matplotlib is imported lazily (:func:`_pyplot`): it is the optional ``plot`` extra.
"""
from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np

from .errors import UsageError
from .outputs import MissingDependencyError


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("plots need matplotlib: pip install 'seqzoo[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


# -- what the spec does not say: one entry per model ----------------------------------------------
@dataclass(frozen=True)
class Landmark:
    """A fixed window index (0-based, model orientation; negative counts from the window's end,
    -1 = its last base) and its label."""

    index: int
    label: str

    def at(self, length: int) -> int:
        return self.index if self.index >= 0 else length + self.index


@dataclass(frozen=True)
class Region:
    """Window indices [start, end) (``end`` None: the window's end) with a label."""

    start: int
    end: int | None
    label: str


@dataclass(frozen=True)
class ModelPlot:
    """A model's figure knowledge beyond its spec.

    * ``orientation``: what the window indices follow (``"transcript orientation"``, ``"forward strand"``);
    * ``window``: the window in words; ``landmarks`` and ``regions``: marked on every window axis;
    * ``bins``: per-position output -> {index: label} of its entries that are not window positions
      (APARENT2's ``cut_prob[205]``: no cleavage in the window), drawn on their own axis;
    * ``strands``: names along the last axis of (L, k) profiles and of (k,) per-strand vectors;
    * ``units``: output name (without a ``<task>/`` prefix) -> axis label;
    * ``scalars``: the scalar predictions compared (default: the spec's ``outputs``), ``labels`` their row labels;
    * ``no_effect``: effect score -> its value when alt = ref where that is not 0 (None: no such value,
      e.g. an index), marked on the effect histograms.
    """

    orientation: str = "model orientation"
    window: str = ""
    landmarks: tuple[Landmark, ...] = ()
    regions: tuple[Region, ...] = ()
    bins: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    strands: tuple[str, ...] = ()
    units: Mapping[str, str] = field(default_factory=dict)
    scalars: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    no_effect: Mapping[str, float | None] = field(default_factory=dict)


#: model name (or the family before '/', e.g. ``Xpresso``) -> its figure knowledge
MODEL_PLOTS: dict[str, ModelPlot] = {
    "APARENT2": ModelPlot(
        orientation="transcript orientation",
        window="205 nt around the 3' end: PAS hexamer at 70..75, annotated cleavage site at 100",
        landmarks=(Landmark(70, "PAS"), Landmark(100, "cleavage site")),
        regions=(Region(77, 127, "isoform 77..126"), Region(70, 76, "PAS hexamer 70..75")),
        bins={"cut_prob": {205: "no cleavage\nin window"}},
        units={"cut_prob": "cleavage probability", "iso_prob": "probability"},
        labels={"iso_prob": "iso_prob"},
        no_effect={"argmax_abs_delta_cut_prob": None}),
    "BPNet-OSKN": ModelPlot(
        orientation="forward strand",
        window="1000 bp centred on the variant (its first REF base at 500)",
        strands=("+", "−"),
        units={"profile_counts": "reads per base", "counts": "log(1 + reads)",
               "log_total_counts": "log(1 + reads)"}),
    "Framepool": ModelPlot(
        orientation="transcript orientation",
        window="the 5'UTR, 5'→3': reading frames counted from its 3' end, where the start codon follows",
        landmarks=(Landmark(-1, "3' end (start codon next)"),),
        regions=(Region(0, None, "5'UTR"),),
        units={k: "mean ribosome load (MRL)" for k in ("mrl", "mrl_shift_1", "mrl_shift_2")},
        scalars=("mrl", "mrl_shift_1", "mrl_shift_2"),
        labels={"mrl": "mrl\n(5'UTR as is)", "mrl_shift_1": "mrl_shift_1\n(+1 N at 3' end)",
                "mrl_shift_2": "mrl_shift_2\n(+2 N at 3' end)"}),
    "Xpresso": ModelPlot(
        orientation="transcript orientation",
        window="10,500 nt: 7000 nt upstream, the TSS at 7000, 3499 nt downstream",
        landmarks=(Landmark(7000, "TSS"),),
        regions=(Region(0, 7000, "promoter (upstream)"), Region(7000, None, "transcribed")),
        units={"expression": "log10 mRNA level (standardized)"}),
    "HAL": ModelPlot(
        orientation="transcript orientation",
        window="160 nt: the exon's last 80 nt (0..79), the intron's first 80 (80..159); donor at 80",
        landmarks=(Landmark(80, "donor (intron +1)"),),
        regions=(Region(0, 80, "exon"), Region(80, None, "intron")),
        units={"score": "HAL score (additive logit scale)"},
        no_effect={"sigmoid_delta": 0.5}),
}


def model_plot(name: str) -> ModelPlot:
    """The :data:`MODEL_PLOTS` entry of ``name`` or of its family (``Xpresso/human_median`` ->
    ``Xpresso``); an empty one for a model without an entry."""
    return MODEL_PLOTS.get(name) or MODEL_PLOTS.get(name.split("/")[0]) or ModelPlot()


# -- colours --------------------------------------------------------------------------------------
REF, ALT, DELTA = "#4477AA", "#EE6677", "#333333"
#: (ref, alt) colours of strand 0 and strand 1
STRAND_COLOURS = (("#0077BB", "#33BBEE"), ("#CC3311", "#EE7733"))
BASE_COLOURS = {"A": "#1B9E3E", "C": "#1F5FBF", "G": "#D98C00", "T": "#D7263D"}
LANDMARK = "#117733"
REGION_COLOURS = ("#DDCC77", "#88CCEE", "#CC6677", "#AA4499")
#: columns of an (L, k) output without strand names
COLUMN_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
VARIANT = "black"


# -- where the variant is -------------------------------------------------------------------------
def first_difference(ref: str, alt: str) -> int:
    """Index of the first position where two windows differ (the variant's position for an SNV)."""
    for i, (a, b) in enumerate(zip(ref, alt)):
        if a != b:
            return i
    return min(len(ref), len(alt))


class VariantSpan(NamedTuple):
    """The changed bases: ``ref_seq[ref_start:ref_end]`` became ``alt_seq[alt_start:alt_end]``
    (window indices, model orientation; an empty span is an insertion or deletion point)."""

    ref_start: int
    ref_end: int
    alt_start: int
    alt_end: int


def _trimmed_lengths(ref: str, alt: str) -> tuple[int, int]:
    """Lengths of REF and ALT without their shared leading and trailing bases (VCF padding)."""
    i = 0
    while i < min(len(ref), len(alt)) and ref[i] == alt[i]:
        i += 1
    j = 0
    while j < min(len(ref), len(alt)) - i and ref[-1 - j] == alt[-1 - j]:
        j += 1
    return len(ref) - i - j, len(alt) - i - j


def variant_span(ref_seq: str, alt_seq: str, allele_ref: str, allele_alt: str) -> VariantSpan:
    """Where the allele ``allele_ref`` > ``allele_alt`` (VCF strings; only their lengths are used)
    lies in a ref/alt window pair.

    Windows of fixed length keep one side of the variant in register and shift the other (an indel
    5' of the anchor trims or pulls in sequence at the window's 5' end, one 3' of it at the 3' end);
    windows of variable length (a 5'UTR) keep both. The side whose common run with the other
    window is longer is taken as in register: the common prefix (the change starts where it ends)
    or the common suffix (the change ends where it starts). In a repeat the change may be placed a
    few bases off its VCF position (an equally valid alignment).
    """
    n_ref, n_alt = _trimmed_lengths(allele_ref, allele_alt)
    p = first_difference(ref_seq, alt_seq)
    s = first_difference(ref_seq[::-1], alt_seq[::-1])
    s = min(s, min(len(ref_seq), len(alt_seq)) - p)
    if p >= s:
        rs, as_ = p, p
    else:
        rs, as_ = len(ref_seq) - s - n_ref, len(alt_seq) - s - n_alt
    rs = int(np.clip(rs, 0, len(ref_seq)))
    as_ = int(np.clip(as_, 0, len(alt_seq)))
    return VariantSpan(rs, min(rs + n_ref, len(ref_seq)), as_, min(as_ + n_alt, len(alt_seq)))


# -- choosing a row -------------------------------------------------------------------------------
def row_label(pair) -> str:
    return f"{pair.model} {pair.feature_id} ALT {pair.allele.alt}"


def choose_row(rows: Sequence[tuple], feature: str | None = None, alt: str | None = None) -> tuple:
    """The first row (window pair, ref, alt) of ``rows`` whose feature_id is ``feature`` and whose
    ALT allele is ``alt`` (None: any); a :class:`UsageError` listing the rows' features and ALTs
    when none matches."""
    chosen = [r for r in rows if (feature is None or r[0].feature_id == feature)
              and (alt is None or r[0].allele.alt == alt)]
    if chosen:
        return chosen[0]
    asked = " and ".join(x for x in (f"--feature {feature}" if feature is not None else "",
                                     f"--alt {alt}" if alt is not None else "") if x)
    features = ", ".join(dict.fromkeys(r[0].feature_id for r in rows))
    alts = ", ".join(dict.fromkeys(r[0].allele.alt for r in rows))
    combos = "; ".join(dict.fromkeys(row_label(r[0]) for r in rows))
    raise UsageError(f"{asked} matches no row of variant {rows[0][0].allele.variant_id}: its features are "
                     f"{features}; its ALTs are {alts} (rows: {combos})")


# -- small helpers ----------------------------------------------------------------------------------
def _fmt(value, signed: bool = False, digits: int = 4) -> str:
    """``digits`` significant digits (an integer as is); ``signed``: always a sign (a difference)."""
    value = np.asarray(value).item()
    if isinstance(value, (int, np.integer)):
        return f"{value:+d}" if signed else str(value)
    if not np.isfinite(value):
        return str(value)
    return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"


def _digits_for(ref: float, alt: float) -> int:
    """Significant digits that show ref and alt apart (4 at least, 8 at most)."""
    size, diff = max(abs(ref), abs(alt)), abs(alt - ref)
    if diff == 0 or size == 0:
        return 4
    return int(np.clip(np.floor(np.log10(size)) - np.floor(np.log10(diff)) + 2, 4, 8))


def _short(name: str) -> str:
    """An output name without its group prefix (``Oct4/counts`` -> ``counts``)."""
    return name.rsplit("/", 1)[-1]


def _group(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else ""


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def effect_values(spec, ref: dict, alt: dict) -> dict[str, object]:
    """The spec's scalar effect scores of one ref/alt prediction pair: {name: value}."""
    out = spec.effects({k: np.asarray(v)[None] for k, v in ref.items()},
                       {k: np.asarray(v)[None] for k, v in alt.items()})
    return {k: np.asarray(out[k]).reshape(-1)[0] for k in spec.effect_names if k in out}


def effect_doc(spec, name: str) -> str:
    return spec.effect_docs.get(name, "")


def _mark_landmarks(ax, info: ModelPlot, length: int, label: bool = True) -> None:
    """Vertical lines (gid ``landmark:<label>``) at the model's landmarks, labelled above the axis."""
    for lm in info.landmarks:
        x = lm.at(length)
        ax.axvline(x, color=LANDMARK, lw=1.0, ls="-", alpha=0.9, zorder=1, gid=f"landmark:{lm.label}")
        if label:
            ax.annotate(f"{lm.label} ({x})", (x, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7.5, color=LANDMARK)


def _shade_regions(ax, info: ModelPlot, length: int, label: bool = True) -> None:
    for i, reg in enumerate(info.regions):
        end = length if reg.end is None else reg.end
        ax.axvspan(reg.start - 0.5, end - 0.5, color=REGION_COLOURS[i % len(REGION_COLOURS)], alpha=0.2, lw=0,
                   zorder=0, gid=f"region:{reg.label}", label=reg.label if label else None)


def _mark_variant(ax, span: VariantSpan, label: str | None = None) -> None:
    """A dashed line (gid ``variant``) at the first changed window index; a band over longer changes."""
    ax.axvline(span.ref_start, color=VARIANT, ls="--", lw=0.9, zorder=3, gid="variant", label=label)
    if span.ref_end - span.ref_start > 1:
        ax.axvspan(span.ref_start - 0.5, span.ref_end - 0.5, color="grey", alpha=0.25, lw=0, zorder=0)


def _bars(ax, groups: Sequence[str], ref_values, alt_values, colours=None, unit: str = "",
          ylim=None) -> None:
    """Grouped bars, ref and alt side by side per group (bars labelled ref / alt, each annotated with
    its value, upright for several groups); one group's name as the title, several under their bars."""
    x = np.arange(len(groups))
    ref_values, alt_values = np.asarray(ref_values, float), np.asarray(alt_values, float)
    colours = colours or [(REF, ALT)] * len(groups)
    many = len(groups) > 2  # group names as tick labels, ref / alt in a legend
    w = 0.4
    ticks, tick_labels = [], []
    for i in range(len(groups)):
        digits = _digits_for(ref_values[i], alt_values[i])
        for dx, v, c, name, hatch in ((-w / 2, ref_values[i], colours[i][0], "ref", None),
                                      (w / 2, alt_values[i], colours[i][1], "alt", "//")):
            (bar,) = ax.bar(x[i] + dx, v, w * 0.96, color=c, edgecolor="white", hatch=hatch, lw=0.5, label=name)
            bar.set_gid(name)
            ax.annotate(_fmt(v, digits=digits), (x[i] + dx, v), xytext=(0, 2 if v >= 0 else -2),
                        textcoords="offset points", ha="center", va="bottom" if v >= 0 else "top", fontsize=6.5,
                        rotation=90 if len(groups) > 1 else 0, gid="value")
            ticks.append(x[i] + dx)
            tick_labels.append(name)
        if len(groups) == 2:
            ax.annotate(groups[i], (x[i], 0), xycoords=("data", "axes fraction"), xytext=(0, -16),
                        textcoords="offset points", ha="center", va="top", fontsize=7.5)
    if len(groups) == 1:
        ax.set_title(groups[0], fontsize=8)
    if many:
        ax.set_xticks(x, groups, fontsize=7, rotation=40, ha="right", rotation_mode="anchor")
        handles = [ax.patches[0], ax.patches[1]]
        ax.legend(handles, ["ref", "alt"], loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=6.5,
                  frameon=False)
    else:
        ax.set_xticks(ticks, tick_labels, fontsize=7)
    ax.tick_params(axis="x", length=0, pad=2)
    ax.axhline(0, color="grey", lw=0.6)
    if ylim is not None:
        ax.set_ylim(*ylim)
    else:
        lo, hi = min(0.0, ref_values.min(), alt_values.min()), max(0.0, ref_values.max(), alt_values.max())
        pad = (0.45 if len(groups) > 1 else 0.18) * (hi - lo or 1.0)
        ax.set_ylim(lo - (pad if lo < 0 else 0), hi + pad)
    if unit:
        ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


# -- sequence context -------------------------------------------------------------------------------
def _abbreviate(block: str, width: int = 21) -> str:
    if len(block) <= width:
        return block
    half = (width - 1) // 2
    return block[:half] + "…" + block[-half:]


def sequence_strip(ax, ref_seq: str, alt_seq: str, span: VariantSpan, info: ModelPlot, flank: int = 20) -> None:
    """Ref and alt bases around the variant, aligned: ``flank`` bases each side (each row's own
    window bases, so what the model sees), the changed bases on a highlighted band ('-' for a gap,
    long changes abbreviated with '…'), ticks at ref window indices, landmarks in range marked."""
    rblock = _abbreviate(ref_seq[span.ref_start:span.ref_end])
    ablock = _abbreviate(alt_seq[span.alt_start:span.alt_end])
    w = max(len(rblock), len(ablock), 1)
    rows = {1: (ref_seq[max(0, span.ref_start - flank):span.ref_start], rblock.ljust(w, "-"),
                ref_seq[span.ref_end:span.ref_end + flank]),
            0: (alt_seq[max(0, span.alt_start - flank):span.alt_start], ablock.ljust(w, "-"),
                alt_seq[span.alt_end:span.alt_end + flank])}
    ax.add_patch(_rect(-0.5, -0.45, w, 1.9, "#FFE680"))
    for y, (left, block, right) in rows.items():
        for i, b in enumerate(left):
            _base(ax, i - len(left), y, b, False)
        for i, b in enumerate(block):
            _base(ax, i, y, b, True)
        for i, b in enumerate(right):
            _base(ax, w + i, y, b, False)
    n_left = len(rows[1][0])
    ax.set_xlim(-flank - 0.7, w + flank - 0.3)
    ax.set_ylim(-0.62, 1.9)
    ax.set_yticks([1, 0], ["ref", "alt"], fontsize=8)

    def column(index: int) -> float | None:  # ref window index -> strip column
        if span.ref_start - n_left <= index < span.ref_start:
            return index - span.ref_start
        if span.ref_start <= index < span.ref_end and index - span.ref_start < len(rblock):
            return index - span.ref_start
        if span.ref_end <= index < span.ref_end + flank:
            return w + index - span.ref_end
        return None

    ticks = sorted({i for i in range(span.ref_start - n_left, min(span.ref_end + flank, len(ref_seq)))
                    if i % 5 == 0 and abs(i - span.ref_start) > 2} | {span.ref_start})
    cols = [(column(i), i) for i in ticks if column(i) is not None]
    ax.set_xticks([c for c, _ in cols], [str(i) for _, i in cols], fontsize=7)
    ax.set_xlabel(f"ref window index ({info.orientation}, 0-based)", fontsize=8)
    for i, reg in enumerate(info.regions):  # the regions in range as a band under the bases
        end = len(ref_seq) if reg.end is None else reg.end
        cols_in = [c for c in (column(j) for j in range(max(reg.start, span.ref_start - n_left),
                                                         min(end, span.ref_end + flank))) if c is not None]
        if cols_in:
            ax.add_patch(_rect(min(cols_in) - 0.5, -0.58, max(cols_in) - min(cols_in) + 1, 0.1,
                               REGION_COLOURS[i % len(REGION_COLOURS)]))
            ax.patches[-1].set_gid(f"region:{reg.label}")
            ax.text(min(cols_in) - 0.4, -0.48, reg.label, fontsize=6.5, va="bottom", ha="left", color="#666666")
    for lm in info.landmarks:
        c = column(lm.at(len(ref_seq)))
        if c is not None:
            ax.plot([c, c], [1.45, 1.75], color=LANDMARK, lw=2, gid=f"landmark:{lm.label}")
            ax.text(c + 0.4, 1.6, f"{lm.label} ({lm.at(len(ref_seq))})", color=LANDMARK, fontsize=7, va="center")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)


def _rect(x, y, w, h, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, color=colour, alpha=0.6, lw=0, zorder=0)


def _base(ax, x, y, base, changed):
    ax.text(x, y, base, ha="center", va="center", family="monospace", fontsize=9 if changed else 8,
            fontweight="bold" if changed else "normal", color=BASE_COLOURS.get(base.upper(), "#555555"),
            gid="base")


def _strip_title(pair, span: VariantSpan, info: ModelPlot) -> str:
    r = pair.ref_seq[span.ref_start:span.ref_end] or "-"
    a = pair.alt_seq[span.alt_start:span.alt_end] or "-"
    where = (f"{info.orientation}: reverse complement of the genome, {pair.strand} strand feature"
             if pair.strand == "-" and info.orientation == "transcript orientation" else info.orientation)
    kind = ("insertion" if span.ref_end == span.ref_start else "deletion" if span.alt_end == span.alt_start
            else "substitution")
    return (f"sequence around the variant ({where}): {_abbreviate(r, 15)} > {_abbreviate(a, 15)}, {kind} at "
            f"window index {span.ref_start}")


# -- one variant ------------------------------------------------------------------------------------
def _header(spec, pair) -> str:
    al = pair.allele
    gene = f", gene {pair.gene_id}" if pair.gene_id and pair.gene_id != pair.feature_id else ""
    return (f"{spec.name}: {al.variant_id} ({al.chrom}:{al.pos} {_abbreviate(al.ref, 15)}>{_abbreviate(al.alt, 15)})"
            f" in {pair.feature_id} ({pair.strand} strand{gene})")


def _where_in_words(span: VariantSpan, info: ModelPlot, length: int) -> str:
    """'variant at window index 6985: 15 nt 5' of the TSS (7000)'."""
    parts = []
    for lm in info.landmarks:
        x = lm.at(length)
        d = span.ref_start - x
        rel = "at" if d == 0 else f"{abs(d)} nt {'3′' if d > 0 else '5′'} of"
        parts.append(f"{rel} {lm.label} ({x})")
    return f"variant at window index {span.ref_start}" + (": " + ", ".join(parts) if parts else "")


class _Outputs(NamedTuple):
    profiles: list[str]   # per-position outputs (first axis >= SMALL entries)
    small: list[str]      # short vectors (e.g. per-strand counts)
    scalars: list[str]


#: vectors with at most this many entries are drawn as bars, longer ones as profiles
SMALL = 8


def _outputs(spec, info: ModelPlot, ref: dict) -> dict[str, _Outputs]:
    """The spec's outputs grouped by their ``<group>/`` prefix, by kind."""
    groups: dict[str, _Outputs] = {}
    scalars = list(info.scalars or spec.outputs)
    for name in list(spec.vector_outputs) + scalars:
        if name not in ref:
            continue
        g = groups.setdefault(_group(name), _Outputs([], [], []))
        shape = np.shape(ref[name])
        if not shape:
            g.scalars.append(name)
        elif shape[0] <= SMALL:
            g.small.append(name)
        else:
            g.profiles.append(name)
    return groups


def variant_figure(spec, pair, ref: dict, alt: dict):
    """The figure of one variant row: ``pair`` (a :class:`seqzoo.windows.base.WindowPair`) and the
    model's ref and alt prediction dicts of it (one row each: scalars, (L,) or (L, k) arrays,
    as :func:`seqzoo.api.variant_predictions` gives them).

    Models with per-position outputs (APARENT2, BPNet, plug-ins): per output group, the ref and
    alt profile over the window indices, the alt - ref difference below, the entries that are not
    window positions, short vectors and scalars as bars on the side; models with scalar outputs only
    (Framepool, Xpresso, HAL): ref vs alt per output, the effect scores with their formulas, a map of
    the window and the sequence around the variant. Returns the matplotlib Figure.
    """
    info = model_plot(spec.name)
    span = variant_span(pair.ref_seq, pair.alt_seq, pair.allele.ref, pair.allele.alt)
    effects = effect_values(spec, ref, alt)
    groups = _outputs(spec, info, ref)
    if any(g.profiles or g.small for g in groups.values()):
        return _profile_figure(spec, info, pair, ref, alt, span, effects, groups)
    return _scalar_figure(spec, info, pair, ref, alt, span, effects, groups)


def _effects_line(effects: dict, names: Sequence[str], short: bool = False) -> str:
    return "   ".join(f"{_short(k) if short else k} = {_fmt(effects[k])}" for k in names if k in effects)


def _docs_text(spec, groups: Sequence[str], width: int) -> str:
    """One wrapped line per effect formula; per-group effects given once with ``<group>``."""
    seen, lines = set(), []
    for name in spec.effect_names:
        g = _group(name)
        doc = effect_doc(spec, name)
        key = _short(name) if g else name
        if g:
            doc = doc.replace(g, "<task>") if g in groups else doc
            key = f"<task>/{key}"
        if key in seen or not doc:
            continue
        seen.add(key)
        lines.append(_wrap(f"{key}: {doc}", width))
    return "\n".join(lines)


def _profile_figure(spec, info, pair, ref, alt, span, effects, groups):
    plt = _pyplot()
    length = len(pair.ref_seq)
    rows = []  # (group, profile name or None)
    for g, outs in groups.items():
        rows += [(g, p) for p in outs.profiles] or [(g, None)]
    heights = []
    for _, p in rows:
        heights += [3.0, 1.5] if p is not None else [2.0]
    n_docs = len(_docs_text(spec, list(groups), 150).splitlines())
    heights += [1.3, 0.4 + 0.16 * n_docs]
    fig = plt.figure(figsize=(12, 0.95 * sum(heights) + 0.8), layout="constrained")
    gs = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[5.2, 1])
    fig.suptitle(_header(spec, pair), fontsize=11, fontweight="bold")
    r = 0
    shared = last_dax = None
    done_side: set[str] = set()
    for g, name in rows:
        outs = groups[g]
        title_effects = [k for k in spec.effect_names if _group(k) == g]
        title = (f"{g}: " if g else "") + _effects_line(effects, title_effects, short=bool(g))
        if name is None:  # a group without profiles: its short vectors and scalars as bars
            ax = fig.add_subplot(gs[r, :])
            _side_bars(ax, info, outs.small + outs.scalars, ref, alt)
            ax.set_title(title, fontsize=9, loc="left")
            r += 1
            continue
        ax = fig.add_subplot(gs[r, 0], sharex=shared)
        dax = fig.add_subplot(gs[r + 1, 0], sharex=ax)
        shared = shared or ax
        n_pos = _profile(ax, dax, info, name, np.asarray(ref[name], float), np.asarray(alt[name], float), length)
        if n_pos >= length:  # entries are window positions: mark the window's landmarks and the variant
            for a in (ax, dax):
                _shade_regions(a, info, length, label=a is ax)
                _mark_landmarks(a, info, length, label=a is ax)
                _mark_variant(a, span, label="variant" if a is ax else None)
            xlabel = f"window index ({info.orientation}, 0-based; {length} nt)"
        else:
            xlabel = "output index"
        last_dax = (dax, xlabel)
        ax.set_title(title, fontsize=9, loc="left", pad=14 if info.landmarks else 6)
        ax.legend(loc="upper left", fontsize=7, ncol=5, framealpha=0.85)
        ax.tick_params(labelbottom=False)
        # the side: entries that are not window positions, then the group's short vectors and scalars
        side = [fig.add_subplot(gs[r, 1]), fig.add_subplot(gs[r + 1, 1])]
        free = side[1:] if _bin_bars(side[0], info, name, ref, alt, n_pos) else side[:]
        if g not in done_side:
            done_side.add(g)
            jobs = [job for job in (outs.small, outs.scalars) if job]
            if len(jobs) > len(free):
                jobs = [outs.small + outs.scalars]
            for a, job in zip(free, jobs):
                _side_bars(a, info, job, ref, alt)
        for a in side:
            if not a.has_data():
                a.set_axis_off()
        r += 2
    if last_dax is not None:
        last_dax[0].set_xlabel(last_dax[1], fontsize=8)
    strip = fig.add_subplot(gs[r, :])
    sequence_strip(strip, pair.ref_seq, pair.alt_seq, span, info)
    strip.set_title(_strip_title(pair, span, info) + "\n" + _where_in_words(span, info, length), fontsize=8.5,
                    loc="left")
    foot = fig.add_subplot(gs[r + 1, :])
    foot.set_axis_off()
    foot.text(0, 1, (f"Window: {info.window}.\n" if info.window else "") + "Effect scores:\n"
              + _docs_text(spec, list(groups), 150),
              fontsize=7, va="top", ha="left", color="#444444", transform=foot.transAxes)
    return fig


def _bin_bars(ax, info: ModelPlot, name: str, ref: dict, alt: dict, n_pos: int) -> bool:
    """The entries of output ``name`` past the window positions that :attr:`ModelPlot.bins` names
    (APARENT2's no-cleavage bin 205) as ref/alt bars (gid ``bins``); False when there are none."""
    extra, size = info.bins.get(_short(name), {}), np.shape(ref[name])[0]
    idx = [i for i in sorted(extra) if n_pos <= i < size]
    if not idx:
        return False
    _bars(ax, [extra[i] for i in idx], [np.asarray(ref[name])[i] for i in idx],
          [np.asarray(alt[name])[i] for i in idx], unit=info.units.get(_short(name), ""), ylim=(0, 1.15))
    ax.set_title(" / ".join(extra[i].replace("\n", " ") for i in idx)
                 + f"\n{_short(name)}[{', '.join(map(str, idx))}]: not a window position", fontsize=7.5, wrap=True)
    for patch in ax.patches:
        patch.set_gid("bins")
    return True


def _side_bars(ax, info: ModelPlot, names: Sequence[str], ref: dict, alt: dict) -> None:
    """Short vectors and scalars of one group as grouped ref/alt bars: a (k,) vector with k strand
    names as one group per strand (in the strand colours), scalars one group each."""
    labels, rv, av, colours, units = [], [], [], [], set()
    for name in names:
        r, a = np.atleast_1d(np.asarray(ref[name], float)), np.atleast_1d(np.asarray(alt[name], float))
        units.add(info.units.get(_short(name), ""))
        if np.ndim(ref[name]) == 0:
            labels.append(info.labels.get(name, _short(name)))
            colours.append((REF, ALT))
        elif len(r) == len(info.strands):
            labels += [f"{_short(name)} {s}" for s in info.strands]
            colours += list(STRAND_COLOURS[:len(r)])
        else:
            labels += [f"{_short(name)}[{i}]" for i in range(len(r))]
            colours += [(REF, ALT)] * len(r)
        rv += list(r)
        av += list(a)
    _bars(ax, labels, rv, av, colours, unit=" / ".join(u for u in units if u))


def _profile(ax, dax, info: ModelPlot, name: str, ref: np.ndarray, alt: np.ndarray, length: int) -> int:
    """Ref vs alt over window positions on ``ax`` (a (L, k) profile with k strand names: one colour
    pair per strand, strand 1 mirrored below zero), alt - ref on ``dax``. Entries past the window
    (APARENT2's bin 205) are left to the side axis. Returns the number of positions drawn."""
    n = min(ref.shape[0], length) if ref.shape[0] >= length else ref.shape[0]
    x = np.arange(n)
    unit = info.units.get(_short(name), "")
    label = f"{_short(name)}" + (f"\n{unit}" if unit else "")
    if ref.ndim == 2 and info.strands and ref.shape[1] == len(info.strands):
        for k, s in enumerate(info.strands):
            sign = 1 if k == 0 else -1
            c_ref, c_alt = STRAND_COLOURS[k % 2]
            ax.plot(x, sign * ref[:n, k], color=c_ref, lw=0.9, label=f"ref {s}", gid=f"ref {s}")
            ax.plot(x, sign * alt[:n, k], color=c_alt, lw=0.9, ls="--", alpha=0.85, label=f"alt {s}",
                    gid=f"alt {s}")
            dax.plot(x, alt[:n, k] - ref[:n, k], color=c_ref, lw=0.8, label=f"{s} strand", gid=f"delta {s}")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_ylabel(f"{label}\n({info.strands[0]} up, {info.strands[1]} down)", fontsize=8)
        dax.legend(loc="upper left", fontsize=6.5, ncol=2, framealpha=0.85)
    else:
        r2, a2 = ref.reshape(ref.shape[0], -1)[:n], alt.reshape(alt.shape[0], -1)[:n]
        if r2.shape[1] == 1:
            ax.plot(x, r2[:, 0], color=REF, lw=2.0, alpha=0.9, label="ref", gid="ref")
            ax.plot(x, a2[:, 0], color=ALT, lw=1.1, ls="--", alpha=0.9, label="alt", gid="alt")
            dax.bar(x, a2[:, 0] - r2[:, 0], width=1.0, color=DELTA, lw=0, gid="delta")
        else:  # k unnamed columns: one colour each, ref solid, alt dashed
            for k in range(r2.shape[1]):
                c = COLUMN_COLOURS[k % len(COLUMN_COLOURS)]
                ax.plot(x, r2[:, k], color=c, lw=2.0, alpha=0.7, label=f"ref [{k}]", gid=f"ref [{k}]")
                ax.plot(x, a2[:, k], color=c, lw=1.1, ls="--", label=f"alt [{k}]", gid=f"alt [{k}]")
                dax.plot(x, a2[:, k] - r2[:, k], color=c, lw=1.0, label=f"[{k}]", gid=f"delta [{k}]")
            dax.legend(loc="upper left", fontsize=6.5, ncol=r2.shape[1], framealpha=0.85)
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(bottom=min(0.0, float(min(r2.min(), a2.min()))))
    dax.axhline(0, color="grey", lw=0.6, gid="zero")
    dax.set_ylabel(f"Δ {_short(name)}\n(alt − ref)", fontsize=8)
    lim = float(np.abs(dax.get_ylim()).max())
    dax.set_ylim(-lim, lim)
    ax.set_xlim(-1, n)
    for a in (ax, dax):
        a.tick_params(labelsize=7)
    return n


def _scalar_figure(spec, info, pair, ref, alt, span, effects, groups):
    plt = _pyplot()
    length = len(pair.ref_seq)
    names = [n for g in groups.values() for n in g.scalars]
    units: dict[str, list[str]] = {}
    for n in names:
        units.setdefault(info.units.get(_short(n), n), []).append(n)
    n_rows = len(names)
    fig = plt.figure(figsize=(12, 4.6 + 0.45 * n_rows), layout="constrained")
    gs = fig.add_gridspec(3, 2, height_ratios=[1.1 + 0.45 * n_rows, 0.85, 1.1], width_ratios=[1.25, 1])
    fig.suptitle(_header(spec, pair), fontsize=11, fontweight="bold")
    sub = gs[0, 0].subgridspec(len(units), 1, height_ratios=[len(v) for v in units.values()])
    for i, (unit, members) in enumerate(units.items()):
        ax = fig.add_subplot(sub[i, 0])
        _dumbbell(ax, info, members, ref, alt, unit)
        if i == 0:
            ax.set_title("prediction, ref vs alt", fontsize=9, loc="left")
    tax = fig.add_subplot(gs[0, 1])
    _effects_panel(tax, spec, effects)
    mp = fig.add_subplot(gs[1, :])
    window_map(mp, info, length, span, flank=20)
    mp.set_title(f"window: {info.window or f'{length} nt'}.  " + _where_in_words(span, info, length),
                 fontsize=8.5, loc="left")
    strip = fig.add_subplot(gs[2, :])
    sequence_strip(strip, pair.ref_seq, pair.alt_seq, span, info)
    strip.set_title(_strip_title(pair, span, info), fontsize=8.5, loc="left")
    return fig


def _dumbbell(ax, info: ModelPlot, names: Sequence[str], ref: dict, alt: dict, unit: str) -> None:
    """One row per scalar output: ref (circle) and alt (diamond) on a value axis, an arrow from ref
    to alt, both values written next to their markers."""
    y = np.arange(len(names))[::-1]
    rv = np.array([float(ref[n]) for n in names])
    av = np.array([float(alt[n]) for n in names])
    for yi, r, a in zip(y, rv, av):
        ax.plot([r, a], [yi, yi], color="#BBBBBB", lw=2, zorder=1)
        if r != a:
            ax.annotate("", xy=(a, yi), xytext=(r, yi), arrowprops=dict(arrowstyle="->", color="#777777", lw=1))
        digits = _digits_for(r, a)
        ax.annotate(f"ref {_fmt(r, digits=digits)}", (r, yi), xytext=(0, 7), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7.5, color=REF)
        ax.annotate(f"alt {_fmt(a, digits=digits)} (Δ {_fmt(a - r, signed=True)})", (a, yi), xytext=(0, -8),
                    textcoords="offset points", ha="center", va="top", fontsize=7.5, color=ALT)
    ax.scatter(rv, y, s=55, color=REF, marker="o", zorder=3, label="ref", gid="ref")
    ax.scatter(av, y, s=55, color=ALT, marker="D", zorder=3, label="alt", gid="alt", alpha=0.85)
    lo, hi = float(min(rv.min(), av.min())), float(max(rv.max(), av.max()))
    pad = max(0.25 * (hi - lo), 0.02 * max(abs(lo), abs(hi)), 1e-3)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_yticks(y, [info.labels.get(n, n) for n in names], fontsize=8)
    ax.set_xlabel(unit, fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#EEEEEE")
    ax.legend(fontsize=7, loc="best", framealpha=0.85)


def _effects_panel(ax, spec, effects: dict) -> None:
    """The effect scores (value) with their formula and unit (``spec.effect_docs``), as text."""
    ax.set_axis_off()
    ax.set_title("effect scores", fontsize=9, loc="left")
    lines = []
    for name in spec.effect_names:
        if name in effects:
            lines.append((f"{name} = {_fmt(effects[name])}", _wrap(effect_doc(spec, name), 62)))
    y = 1.0
    step = 1.0 / max(4.0, sum(1.3 + d.count("\n") + 1 for _, d in lines))
    for head, doc in lines:
        ax.text(0, y, head, fontsize=9, fontweight="bold", family="monospace", va="top", transform=ax.transAxes,
                gid="effect")
        y -= 1.3 * step
        if doc:
            ax.text(0.02, y, doc, fontsize=7.5, color="#555555", va="top", transform=ax.transAxes)
            y -= (doc.count("\n") + 1) * step + 0.35 * step


def window_map(ax, info: ModelPlot, length: int, span: VariantSpan, flank: int = 20) -> None:
    """The whole window (indices 0..length-1) as a ruler: the model's regions as boxes, its
    landmarks as lines, the variant as a triangle, the stretch shown in the sequence strip bracketed."""
    ax.set_xlim(-0.02 * length, 1.02 * length)
    ax.set_ylim(0, 1)
    for i, reg in enumerate(info.regions):
        end = length if reg.end is None else reg.end
        ax.add_patch(_rect(reg.start - 0.5, 0.3, end - reg.start, 0.3, REGION_COLOURS[i % len(REGION_COLOURS)]))
        ax.patches[-1].set_gid(f"region:{reg.label}")
        ax.text((reg.start + end) / 2, 0.45, f"{reg.label} ({reg.start}..{end - 1})", ha="center", va="center",
                fontsize=7.5)
    if not info.regions:
        ax.add_patch(_rect(-0.5, 0.3, length, 0.3, "#DDDDDD"))
    for lm in info.landmarks:
        x = lm.at(length)
        ax.plot([x, x], [0.15, 0.75], color=LANDMARK, lw=1.6, gid=f"landmark:{lm.label}")
        ha = "right" if x > 0.85 * length else "left" if x < 0.15 * length else "center"
        ax.text(x, 0.78, f"{lm.label} ({x})", color=LANDMARK, fontsize=7.5, ha=ha, va="bottom")
    ax.plot([span.ref_start], [0.2], marker="^", color=VARIANT, ms=8, gid="variant", ls="none")
    ax.annotate(f"variant ({span.ref_start})", (span.ref_start, 0.2), xytext=(6, -1), textcoords="offset points",
                fontsize=7, va="center", ha="left")
    lo, hi = max(0, span.ref_start - flank), min(length, span.ref_end + flank)
    ax.plot([lo, hi], [0.04, 0.04], color="#999999", lw=2.5, solid_capstyle="butt")
    ax.annotate("sequence shown below", (hi, 0.04), xytext=(4, 0), textcoords="offset points", fontsize=6.5,
                va="center", ha="left", color="#777777")
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"window index ({info.orientation}, 0-based; {length} nt)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)


def plot_variant(spec, pair, ref: dict, alt: dict, out: str | os.PathLike) -> Path:
    """:func:`variant_figure` written to ``out`` (.png or .pdf)."""
    return save(variant_figure(spec, pair, ref, alt), out)


# -- effect distributions ---------------------------------------------------------------------------
def read_scores(path: str | os.PathLike):
    import pandas as pd

    path = str(path)
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".tsv") or path.endswith(".tsv.gz"):
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["nan", ""])
    raise UsageError(f"plot input {path} must be a seqzoo score table (.tsv, .tsv.gz or .parquet)")


#: fewer finite values than this: the values themselves as dots, not a histogram
MIN_HISTOGRAM = 10


def effects_figure(table, scores: dict[str, str], docs: Mapping[str, Mapping[str, str]] | None = None):
    """One panel per model: the distribution of its effect score ``scores[model]`` over the rows of
    ``table`` (a DataFrame; rows of that model when it has a ``model`` column), NaN dropped.
    ``docs``: model -> {score: formula and unit} for the x label (default: from the registry).

    With at least :data:`MIN_HISTOGRAM` values a histogram (integer row-count ticks, the values as a
    rug), otherwise the values as dots with their numbers; the score's no-effect value (0, or
    :attr:`ModelPlot.no_effect`) dashed; n and the median in the title.
    Returns the matplotlib Figure."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    models = list(scores)
    data = {}
    for model in models:
        rows = table[table["model"] == model] if "model" in table.columns else table
        values = np.asarray(rows[scores[model]], dtype=float)
        data[model] = values[np.isfinite(values)]
    heights = [2.9 if len(data[m]) >= MIN_HISTOGRAM else 1.9 for m in models]
    fig, axes = plt.subplots(len(models), 1, figsize=(8, sum(heights)), squeeze=False, layout="constrained",
                             gridspec_kw={"height_ratios": heights})
    for ax, model in zip(axes[:, 0], models):
        score = scores[model]
        values = data[model]
        doc = (docs or {}).get(model, {}).get(score) if docs is not None else _registry_doc(model, score)
        n = len(values)
        if n >= MIN_HISTOGRAM:
            auto = len(np.histogram_bin_edges(values, bins="auto")) - 1
            bins = int(np.clip(max(auto, 2 * np.sqrt(n)), 5, 50))
            ax.hist(values, bins=bins, color=REF, edgecolor="white", lw=0.4, gid="histogram")
            if n <= 200:  # the values themselves under the bars
                ax.plot(values, np.zeros(n), "|", color="black", ms=6, mew=0.8, alpha=0.6, gid="rug",
                        clip_on=False)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel("rows (variant × feature)", fontsize=8)
            kind = "histogram"
        elif n:
            _value_strip(ax, values, model_plot(model).no_effect.get(score, 0.0))
            kind = f"each value (n < {MIN_HISTOGRAM}: no histogram)"
        else:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            kind = "no values"
        null = model_plot(model).no_effect.get(score, 0.0)
        if null is not None:
            ax.axvline(null, color="black", ls="--", lw=0.8, gid="zero")
            ax.annotate(f"no effect ({_fmt(null)})", (null, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", ha="left", va="top", fontsize=7)
        median = f", median {_fmt(np.median(values))}" if n else ""
        ax.set_title(f"{model}: {score} (n = {n}{median}); {kind}", fontsize=9.5, loc="left")
        ax.set_xlabel(_wrap(f"{score}: {doc}" if doc else score, 110), fontsize=8)
        ax.tick_params(labelsize=7.5)
    return fig


def _registry_doc(model: str, score: str) -> str:
    from . import registry
    try:
        return registry.get(model).effect_docs.get(score, "")
    except Exception:  # a model not registered here (a plug-in's table): the name alone
        return ""


def _value_strip(ax, values: np.ndarray, null: float | None = 0.0) -> None:
    """A few values as dots, each labelled with its value (equal values: one dot, "value ×count"); a
    dot whose label would overlap the previous one's goes one level up."""
    v, counts = np.unique(values, return_counts=True)
    ends = [float(v[0]), float(v[-1])] + ([null] if null is not None else [])  # the no-effect line in view
    lo, hi = min(ends), max(ends)
    pad = 0.12 * ((hi - lo) or max(abs(float(v[0])), 1.0))
    ax.set_xlim(lo - pad, hi + pad)
    label_width = 0.1 * (hi - lo + 2 * pad)  # ~8 characters at this figure width
    last: list[float] = []  # the x of the last label on each level
    y = np.zeros(len(v))
    for i, x in enumerate(v):
        level = next((k for k, xk in enumerate(last) if x - xk >= label_width), len(last))
        if level == len(last):
            last.append(x)
        last[level] = x
        y[i] = level
    ax.scatter(v, y, s=40 * np.sqrt(counts), color=REF, zorder=3, gid="values")
    for xi, yi, c in zip(v, y, counts):
        ax.annotate(_fmt(xi) + (f" ×{c}" if c > 1 else ""), (xi, yi), xytext=(0, 6), textcoords="offset points",
                    ha="center", fontsize=7)
    ax.set_ylim(-0.7, max(y.max(), 1) + 0.9)
    ax.set_yticks([])


def plot_effect_distributions(table, out: str | os.PathLike, scores: dict[str, str]) -> Path:
    """:func:`effects_figure` written to ``out`` (.png or .pdf)."""
    return save(effects_figure(table, scores), out)


#: the figure formats, by file suffix
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def check_figure_path(path: str | os.PathLike, label: str) -> None:
    """UsageError unless ``path`` ends in a figure suffix (checked before any work is done)."""
    if Path(path).suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"{label} {path}: the figure's format comes from its suffix; give a path ending in "
                         f"{', '.join(FIGURE_SUFFIXES[:-1])} or {FIGURE_SUFFIXES[-1]}")


def save(fig, out: str | os.PathLike) -> Path:
    """Write ``fig`` to ``out`` (format by suffix; 150 dpi for raster formats) and close it."""
    plt = _pyplot()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


# -- in-silico mutagenesis ----------------------------------------------------------------------
NO_VALUE = "#f2d45c"  # ISM indels the model cannot score (no alt window, or no A/C/G/T base left)


def check_ism_score(spec, score: str | None) -> str:
    """The effect score a mutation map of model ``spec`` shows: ``score``, or the model's first;
    UsageError naming the model's effect scores for any other name (checked before any work)."""
    if score is None:
        return spec.effect_names[0]
    if score not in spec.effect_names:
        raise UsageError(f"--score {score!r}: not an effect score of {spec.name}; use one of: "
                         f"{', '.join(spec.effect_names)}")
    return score


def parse_ism_positions(text: str | None) -> tuple[int, int] | None:
    """``--plot-positions FIRST-LAST`` (0-based window indices, inclusive) -> (first, last); None for None."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text.replace(",", ""))
    if not m:
        raise UsageError(f"--plot-positions {text!r}: expected FIRST-LAST, 0-based window indices (as on the "
                         f"map's x axis), e.g. 9000-9399")
    return int(m.group(1)), int(m.group(2))


def check_ism_positions(positions: tuple[int, int], length: int) -> tuple[int, int]:
    """[lo, hi) of the window indices (first, last) (0-based, inclusive) of a window of ``length``;
    UsageError unless 0 <= first <= last < length."""
    first, last = (int(x) for x in positions)
    if not 0 <= first <= last < length:
        raise UsageError(f"--plot-positions {first}-{last}: the window has indices 0..{length - 1}; give "
                         f"FIRST-LAST with FIRST <= LAST inside them")
    return first, last + 1


def region_window_span(window) -> str | None:
    """``chrom:first-last`` (1-based, inclusive) of a window named by its own 0-based half-open span
    (a ``--region`` window, as BPNet-OSKN's ``feature_id``), else None."""
    first, last = int(np.min(window.positions)), int(np.max(window.positions))
    if window.feature_id != f"{window.chrom}:{first}-{last + 1}":
        return None
    return f"{window.chrom}:{first + 1}-{last + 1}"


def _ism_colours(values: np.ndarray, centre: float):
    """(colormap, norm) of a mutation map: red above the score's no-effect value ``centre``, blue
    below, white at it, to the largest distance from it; where every value lies on one side (e.g.
    a Jensen-Shannon distance, never below 0) only that half of the scale, so that no colour
    stands for values that do not occur. NaN cells (the reference base) grey."""
    import matplotlib.colors as mcolors

    plt = _pyplot()
    finite = values[np.isfinite(values)] - centre
    span = float(np.abs(finite).max()) if finite.size else 0.0
    span = span if span > 0 else 1.0
    full = plt.get_cmap("RdBu_r")
    if finite.size and finite.min() >= 0 and finite.max() > 0:  # one-sided: above (or at) no effect
        cmap, norm = mcolors.ListedColormap(full(np.linspace(0.5, 1.0, 128))), mcolors.Normalize(centre, centre + span)
    elif finite.size and finite.max() <= 0 and finite.min() < 0:  # below
        cmap, norm = mcolors.ListedColormap(full(np.linspace(0.0, 0.5, 128))), mcolors.Normalize(centre - span, centre)
    else:
        cmap, norm = full, mcolors.TwoSlopeNorm(vcenter=centre, vmin=centre - span, vmax=centre + span)
    return cmap.with_extremes(bad="#d9d9d9"), norm


#: most heat-map columns drawn: a longer span shown (``positions``) gives each column the strongest
#: effect of several positions (:func:`_strongest_per_column`)
MAX_ISM_COLUMNS = 1000


def _strongest_per_column(grid: np.ndarray, centre: float, pool: int) -> np.ndarray:
    """(rows, ceil(n / pool)) of a (rows, n) grid: per row and group of ``pool`` columns the value
    farthest from ``centre`` (the no-effect value), NaN where the group has none."""
    rows, n = grid.shape
    groups = np.pad(grid, ((0, 0), (0, -n % pool)), constant_values=np.nan).reshape(rows, -1, pool)
    distance = np.where(np.isnan(groups), -1.0, np.abs(groups - centre))
    return np.take_along_axis(groups, distance.argmax(axis=2)[..., None], axis=2)[..., 0]


def ism_figure(table, window, score: str | None = None, max_positions: int = 400,
               positions: tuple[int, int] | None = None):
    """The mutation map of :func:`seqzoo.mutagenesis.ism`: window positions x the four bases, each cell the
    effect score ``score`` (default: the model's first effect) of that substitution, on a diverging
    colour scale centred on the score's no-effect value (only its upper or lower half where every value
    lies on that side, :func:`_ism_colours`); the reference base of each position grey (no substitution
    there), the reference sequence along the x axis (up to 240 positions shown) and the
    model's landmarks marked (and the VCF variant, for a variant's window: a dashed line at its first
    REF base, the REF bases of a deletion or MNV hatched; and the exon junctions of a
    spliced window, e.g. a multi-exon 5'UTR, with the exon count in the title, beside the window's
    notes such as Xpresso's ``halflife_source``). Windows longer than
    ``max_positions`` show the ``max_positions`` positions around the variant, else the landmark,
    else the window's centre (a region's midpoint), saying so; ``positions`` (first, last) window
    indices (0-based, inclusive, :func:`check_ism_positions`) choose the part shown instead. With
    indels a second heat map on the
    same colour scale has a row for the deletion of each position's base and four for inserting A, C,
    G or T before it (and, where the window's end is shown, a last column "end" for the insertions
    after the last base); indels the table
    holds without values (all alt outputs NaN: no alt window, or no A/C/G/T base left) are yellow.
    Returns the Figure (artists tagged with ``gid``: ``ism``, ``landmark:<label>``, ``variant``,
    ``variant_ref``, ``junction``, ``indels``, ``no_value``)."""
    import matplotlib.colors as mcolors

    plt = _pyplot()
    spec = window.spec
    score = check_ism_score(spec, score)
    if score not in table.columns:
        raise UsageError(f"the ISM table has no column {score!r} (an effect score of {spec.name}); was it made "
                         f"by seqzoo.ism for {spec.name}?")
    info = model_plot(spec.name)
    seq = window.window.seq
    length = len(seq)
    lo, hi = 0, length
    focus = getattr(window, "variant_index", None)
    if positions is not None:
        lo, hi = check_ism_positions(positions, length)
    elif length > max_positions:  # centre on the variant, else the first landmark, else the window's centre
        centre = focus if focus is not None else info.landmarks[0].at(length) if info.landmarks else length // 2
        lo = max(0, min(length - max_positions, centre - max_positions // 2))
        hi = lo + max_positions
    snv = table[table.kind == "snv"]
    grid = np.full((4, hi - lo), np.nan)
    rows = {b: i for i, b in enumerate("ACGT")}
    keep = (snv.window_index >= lo) & (snv.window_index < hi)
    for idx, alt, value in zip(snv.window_index[keep], snv.alt[keep], snv[score][keep]):
        grid[rows[alt], idx - lo] = value
    indels = table[table.kind.isin(["deletion", "insertion"])]
    # the insertions after the last base: one more column of the indel map, where the window's end is shown
    end = int(hi == length and bool((indels.window_index == length).any()))
    indel_grid = np.full((5, hi - lo + end), np.nan)  # rows: deletion, then inserting A, C, G, T before the base
    no_value = np.zeros((5, hi - lo + end), dtype=bool)  # indels the model cannot score (all alt outputs NaN)
    keep = (indels.window_index >= lo) & (indels.window_index < hi + end)
    unscored = indels[[f"alt_{k}" for k in spec.outputs]].isna().all(axis=1)
    for idx, kind, alt, value, lost in zip(indels.window_index[keep], indels.kind[keep], indels.alt[keep],
                                           indels[score][keep], unscored[keep]):
        row = 0 if kind == "deletion" else 1 + rows[alt]
        indel_grid[row, idx - lo], no_value[row, idx - lo] = value, lost
    with_indels = bool(len(indels))
    centre_value = info.no_effect.get(score, 0.0) or 0.0
    # more positions than the figure has pixel columns: each column the strongest effect of `pool`
    # positions (drawn one per column, most would be dropped, strong single effects among them)
    pool = -(-(hi - lo) // MAX_ISM_COLUMNS)
    if pool > 1:
        grid = _strongest_per_column(grid, centre_value, pool)
        indel_grid = _strongest_per_column(indel_grid, centre_value, pool)
        # "not scored" only where no position of the column has a value (else its strongest shows)
        no_value = (_strongest_per_column(np.where(no_value, 1.0, np.nan), 0.0, pool) == 1.0) & np.isnan(indel_grid)
    fig, axes = plt.subplots(2 if with_indels else 1, 1, figsize=(min(18, 5 + (hi - lo) * 0.06), 4.2
                             + (2.0 if with_indels else 0)), squeeze=False, sharex=True, layout="constrained",
                             gridspec_kw={"height_ratios": [4, 5] if with_indels else [1]})
    ax = axes[0, 0]
    both = np.concatenate([grid.ravel(), indel_grid.ravel()]) if with_indels else grid.ravel()
    cmap, norm = _ism_colours(both, centre_value)  # the reference base of each position: grey
    image = ax.imshow(grid, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest",
                      extent=(lo - 0.5, lo + grid.shape[1] * pool - 0.5, 3.5, -0.5))
    image.set_gid("ism")
    ax.set_xlim(lo - 0.5, hi + end - 0.5)  # (the pooled grid's last column may reach past hi)
    ax.set_yticks(range(4), list("ACGT"))
    ax.set_ylabel(f"alt base\n({info.orientation})", fontsize=9)
    for lm in info.landmarks:
        x = lm.at(length)
        if lo <= x < hi:
            for a in axes[:, 0]:
                a.axvline(x, color=LANDMARK, lw=1.2, gid=f"landmark:{lm.label}")
            ax.annotate(f"{lm.label} ({x})", (x, -0.5), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, color=LANDMARK)
    labels = 1  # rows of labels above the map
    span = getattr(window, "variant_span", None)
    if span is not None and span[1] >= lo and span[0] < hi:  # the bases a deletion / MNV replaces
        for a in axes[:, 0]:
            a.axvspan(max(span[0], lo) - 0.5, min(span[1], hi - 1) + 0.5, facecolor="none", edgecolor="black",
                      hatch="///", lw=0.0, alpha=0.6, gid="variant_ref")
    if focus is not None and lo <= focus < hi:
        for a in axes[:, 0]:
            a.axvline(focus, color="black", lw=1.0, ls="--", gid="variant")
        near = any(lo <= lm.at(length) < hi and abs(lm.at(length) - focus) < max(8, (hi - lo) // 12)
                   for lm in info.landmarks)  # its label one row higher than a landmark's beside it
        labels += near
        where = f"REF at {span[0]}..{span[1]}" if span is not None else str(focus)
        ax.annotate(f"{window.variant_id} ({where})", (focus, -0.5), xytext=(3, 14 if near else 3),
                    textcoords="offset points", ha="left", va="bottom", fontsize=8, color="black")
    w = window.window
    positions = np.asarray(w.positions)
    junctions = np.flatnonzero(np.abs(np.diff(positions)) != 1) + 1  # first index of each exon after the first
    for k, j in enumerate(x for x in junctions.tolist() if lo < x < hi):
        for a in axes[:, 0]:
            a.axvline(j - 0.5, color="#555555", lw=1.0, ls=":", gid="junction")
        if k == 0:
            ax.annotate("exon junction", (j - 0.5, -0.5), xytext=(2, -2), textcoords="offset points", ha="left",
                        va="top", fontsize=7, color="#333333",
                        bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8))
    bar = fig.colorbar(image, ax=axes[:, 0].tolist(), fraction=0.025, pad=0.01)
    bar.set_label(_wrap(f"{score}: {effect_doc(spec, score)}", 60), fontsize=8)
    where = f"{w.chrom}:{int(positions.min()) + 1}-{int(positions.max()) + 1} ({w.strand})"
    if junctions.size:  # a spliced window: not one stretch of the genome
        where += f", {junctions.size + 1} exons, {length} nt"
    notes = "; ".join(f"{k}={v}" for k, v in (w.notes or {}).items())  # e.g. Xpresso's halflife_source
    shown = "" if (lo, hi) == (0, length) else f"; positions {lo}..{hi - 1} of {length} shown"
    if pool > 1:
        shown += f"; each column the strongest effect of {pool} positions"
    what = f"{w.feature_id} ({where})"
    if region_window_span(w) is not None:  # named by its 0-based span: say so
        what = f"the window {where} (ID {w.feature_id}: 0-based half-open)"
    ax.set_title(f"{spec.name} in-silico mutagenesis of {what}{f'; {notes}' if notes else ''}"
                 f"\n{score} of every substitution"
                 f"{' and 1-nt indel' if with_indels else ''} (grey: the reference base"
                 f"{'; yellow: not scored, see the warning' if no_value.any() else ''}){shown}", fontsize=10,
                 loc="left", pad=3 + 11 * labels)
    last = axes[-1, 0]
    if with_indels:
        indel_extent = (lo - 0.5, lo + indel_grid.shape[1] * pool - 0.5, 4.5, -0.5)
        indel_image = last.imshow(indel_grid, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest",
                                  extent=indel_extent)
        indel_image.set_gid("indels")
        if no_value.any():  # told apart from the reference's grey
            last.imshow(np.where(no_value, 1.0, np.nan), aspect="auto", cmap=mcolors.ListedColormap([NO_VALUE]),
                        interpolation="nearest", extent=indel_extent, gid="no_value")
        if end:  # no base to delete after the last one: a blank cell, not the reference's grey
            last.add_patch(plt.Rectangle((length - 0.5, -0.5), 1, 1, facecolor="white", edgecolor="none",
                                         gid="end_no_deletion"))
        last.set_yticks(range(5), ["del", "+A", "+C", "+G", "+T"])
        last.set_ylabel("1-nt indel\n(+: inserted\nbefore the base)", fontsize=8)
    after = "; end: inserted after the last base" if end else ""
    if hi - lo <= 240:  # the reference letters fit (smaller beyond 120), the window index below them
        last.set_xticks(range(lo, hi + end), [seq[i] for i in range(lo, hi)] + ["end"] * end,
                        fontsize=7 if hi - lo <= 120 else 5, family="monospace")
        if end:  # wider than a column: upright
            last.get_xticklabels()[-1].set_rotation(90)
        step = 10 if hi - lo <= 120 else 20
        index = last.secondary_xaxis("bottom")
        index.set_xticks(range(-(-lo // step) * step, hi, step))
        index.tick_params(axis="x", length=0, pad=14, labelsize=7, colors="#333333")
        index.set_gid("window_index")
        index.set_xlabel(f"reference base (above) and window index {lo}..{hi - 1}\n({info.orientation}, "
                         f"0-based){after}")
    else:
        last.set_xlabel(f"window index ({info.orientation}, 0-based){after}")
    return fig
