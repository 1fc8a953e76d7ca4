"""In-silico mutagenesis: every single-base substitution of a model's window (optionally every 1-nt
deletion and insertion), with the model's effect scores per variant.

>>> table, window = seqzoo.ism("Framepool", "genome.fa", gtf="genes.gtf", feature="ENST00000335137")

The window is a feature's reference window (``feature``: a transcript, gene or donor id of the
model's window rule), the window of a BED-style region (``region="chr1:1000-1200"``, models with a
region mode: centred on its midpoint), or the window(s) of a VCF variant (``vcf`` + ``variant``, its
``variant_id``; the first row's window, or the one ``feature`` names). Substitutions go through the
model's ``predict_edits`` where it has one (only what a base change can change is recomputed: the
incremental path, exact against full passes), else batched full passes (``device`` = cuda where
available). Indels: for variable-length windows (Framepool's 5'UTR) an edit of the window; for fixed
windows the model's own window rule applied to the genome (the anchor keeps its index; full passes).

The table has one row per variant, in window order: ``window_index`` (0-based, model orientation),
``chrom``, ``pos`` (1-based, forward strand; for an insertion the base after which it is inserted,
in the window's order), ``strand``, ``ref`` / ``alt`` (model orientation: what the model reads;
``-`` for the missing side of an indel), ``ref_forward`` / ``alt_forward`` (the same on the forward
strand), ``kind`` (snv, deletion, insertion), then the model's outputs for the alt window
(``alt_<output>``), its scalar effect scores, the reference window's outputs (``ref_<output>``) and
the model's note columns (Xpresso: ``halflife_source``, where the half-life features came from).
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

import numpy as np

from .encoding import reverse_complement
from .errors import UsageError
from .gc_passes import in_run_scope
from .genome.names import some_names

log = logging.getLogger(__name__)

BASES = "ACGT"
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


@dataclass
class IsmWindow:
    """The mutated window: model, feature, reference (:class:`seqzoo.windows.base.ReferenceWindow`),
    reference predictions (one row each) and the spec."""

    model: str
    spec: object
    window: object
    ref: dict
    #: the window index (model orientation) of the VCF variant's first REF base (forward strand),
    #: when the window is a variant's (``vcf`` + ``variant``); marked in the mutation map
    variant_index: int | None = None
    variant_id: str | None = None
    #: the window indices [first, last] (model orientation) of the variant's REF bases inside the
    #: window, when REF is longer than one base (a deletion or MNV: the bases it replaces are marked)
    variant_span: tuple[int, int] | None = None


def _no_region_mode(specs) -> None:
    """UsageError for a model without a region mode (``--region``)."""
    for spec in specs:
        if spec.region_windows is None:
            raise UsageError(f"model {spec.name} has no region mode (its windows come from features): use --feature "
                             f"or --vcf/--variant")


def parse_region(region: str) -> tuple[str, int, int]:
    """``chrom:start-end`` (1-based, inclusive; commas allowed in the numbers) -> (chrom, start,
    end); UsageError saying the form when it is not one."""
    m = re.fullmatch(r"([^:]+):(\d+)-(\d+)", region.replace(",", ""))
    if not m:
        raise UsageError(f"--region {region!r}: expected chrom:start-end (1-based, inclusive; region windows are "
                         f"read on the forward strand)")
    start, end = int(m.group(2)), int(m.group(3))
    if not 1 <= start <= end:
        raise UsageError(f"--region {region!r}: the start must be at least 1 and at most the end "
                         f"(chrom:start-end, 1-based, inclusive)")
    return m.group(1), start, end


def region_window(region: str, genome, names) -> tuple[str, int, int]:
    """(FASTA contig, start, end) of the region mode's window of ``region`` (forward strand, 0-based
    half-open; BPNet-OSKN's 1,000 nt centred on it), or the UsageError naming the region when its
    contig matches no FASTA contig or the window leaves the contig."""
    from .genome.fasta import outside_contig
    from .windows.centered import WINDOW, bed_window_span

    name, first, last = parse_region(region)
    chrom = names.resolve(name, "region", report=False)  # (the error says it; no warning first)
    if chrom is None:
        raise UsageError(f"--region {region!r}: contig {name!r} matches no FASTA contig ({names.tried(name)}; "
                         f"FASTA: {some_names(names.fasta_order)})")
    start, end = bed_window_span(first - 1, last, WINDOW)
    if start < 0 or end > genome.lengths[chrom]:
        raise UsageError(f"--region {region!r}: the {WINDOW}-nt window "
                         f"{outside_contig(chrom, start, end, genome.lengths[chrom])}")
    return chrom, start, end


def check_window_options(feature, region, vcf, variant) -> None:
    """UsageError unless exactly one window is asked for: ``feature``, ``region``, or ``vcf`` with
    ``variant`` (``feature`` then picks among the variant's features)."""
    given = [x is not None for x in (feature if vcf is None else None, region, variant)]
    if sum(given) != 1 or (vcf is None) != (variant is None):
        raise UsageError("give exactly one of --feature ID, --region chrom:start-end, or --vcf V with --variant ID")


def _window(setup, spec, rule, feature, region, vcf, variant):
    """(the :class:`~seqzoo.windows.base.ReferenceWindow` ISM mutates, the VCF allele whose window it
    is or None); :func:`ism` has checked that the options ask for exactly one window."""
    from .windows.base import ReferenceWindow

    genome, names = setup.windows.genome, setup.windows.names
    if region is not None:  # (a model without a region mode was refused by ism before the set-up)
        from .windows.centered import WINDOW
        chrom, start, end = region_window(region, genome, names)
        _, first, last = parse_region(region)
        asked = last - first + 1
        if asked > WINDOW:
            log.warning("--region %s: %s nt, longer than the %s-nt window of %s; mutating the %s nt centred on "
                        "it, %s:%s-%s (1-based), not the %s nt outside that", region, f"{asked:,}", WINDOW,
                        spec.name, WINDOW, chrom, start + 1, end, f"{asked - WINDOW:,}")
        return ReferenceWindow(f"{chrom}:{start}-{end}", "", chrom, "+", genome.fetch(chrom, start, end),
                               np.arange(start, end, dtype=np.int64)), None
    if vcf is not None:
        from .genome.assembly import warn_if_other_assembly
        warn_if_other_assembly(vcf, genome, names)
        results = [setup.windows.result(allele) for allele in alleles_with_id(vcf, variant)]
        if not results:
            hint = ""
            if re.fullmatch(r"[^:]+:\d+:[^:>]*", variant):  # chrom:pos:REF: '>ALT' lost to the shell
                hint = (f"; {variant!r} has no '>ALT': quote the ID, e.g. --variant '{variant}>ALT' (unquoted, "
                        f"the shell reads '>' as a redirection)")
            raise UsageError(f"--variant {variant!r}: no allele of {vcf} has this variant_id (its ID column, or "
                             f"chrom:pos:REF>ALT for a record whose ID is '.'){hint}")
        rows = [pair for result in results for pair in result.rows]
        features = sorted({p.feature_id for p in rows})
        if feature is not None:
            rows = [p for p in rows if p.feature_id == feature]
        if not rows:
            why = "; ".join(sorted({f"{s.reason}" + (f" ({s.detail})" if s.detail else "")
                                    for result in results for s in result.skips}))
            raise UsageError(f"--variant {variant!r} gives no window of {spec.name} in {vcf}"
                             + (f" for feature {feature} (its features: {', '.join(features)})" if features else "")
                             + (f": {why}" if why and not features else "") + " (see `seqzoo windows`)")
        pair = rows[0]
        if hasattr(rule, "reference_window") and pair.feature_id in getattr(rule, "feature_ids", lambda: [])():
            return rule.reference_window(pair.feature_id), pair.allele
        from .windows.centered import variant_window  # variant-centred windows: the ref window of the row
        chrom = names.resolve(pair.allele.chrom, "VCF")
        w = variant_window(chrom, pair.allele.start)
        return (ReferenceWindow(w.feature_id, "", chrom, "+", pair.ref_seq, np.arange(w.start, w.end, dtype=np.int64)),
                pair.allele)

    if not hasattr(rule, "reference_window"):
        raise UsageError(f"model {spec.name} has no feature windows: use --region or --vcf/--variant")
    from .windows.fixed import WindowPastContigEnd
    try:
        window = rule.reference_window(feature)
    except WindowPastContigEnd as exc:  # (score_vcf skips its variants as window_past_contig_end)
        raise UsageError(f"{feature!r}: the {spec.name} window leaves its contig: {exc}; there is no window to "
                         f"mutate") from exc
    if window is None:
        known = rule.feature_ids()
        gtf = setup.windows.gtf_file
        if gtf is not None and _annotation_mentions(gtf, feature):  # e.g. a transcript without a 5'UTR
            raise UsageError(f"{feature!r} is in {gtf}, but names no {spec.name} window "
                             f"({spec.description.split(' -> ')[0]}; its {len(known)} windows are named like "
                             f"{', '.join(known[:5])})")
        raise UsageError(f"{spec.name} has no feature {feature!r} (e.g. {', '.join(known[:5])}; {len(known)} in all)")
    return window, None


def alleles_with_id(vcf, variant: str) -> list:
    """The alleles (:class:`~seqzoo.genome.vcf.VariantAllele`) of ``vcf`` whose ``variant_id`` is
    ``variant``, in VCF order: its ID, or ``chrom:pos:REF>ALT`` for a record without an ID ('.' or
    empty).

    One pass over the records that compares the ID and POS columns, building alleles only of the
    records that match, so finding one variant in a whole-genome VCF costs a read of the file, not
    a window per record (and warns only about the matching records' contigs)."""
    from .genome.vcf import iter_record_blocks

    # every (chrom, pos) that could make variant = chrom:pos:REF>ALT (a contig name or a symbolic or
    # breakend ALT may hold ':'); the final variant_id comparison decides
    parts = variant.split(":")
    derived = [(":".join(parts[:k]), int(parts[k])) for k in range(1, len(parts) - 1)
               if parts[k].isascii() and parts[k].isdecimal() and ">" in ":".join(parts[k + 1:])]
    found = []
    for block in iter_record_blocks(vcf):
        hits = {i for i, x in enumerate(block.ids) if x == variant}
        for chrom, pos in derived:
            hits.update(i for i in np.flatnonzero(block.pos == pos).tolist()
                        if not block.ids[i] and block.chrom[i] == chrom)
        found += [a for i in sorted(hits) for a in block.alleles(i) if a.variant_id == variant]
    return found


def _annotation_mentions(path, feature: str) -> bool:
    """Whether a GTF or GFF3 (plain or gzipped) names ``feature`` as an attribute value ("ID" or
    =ID / :ID), for the error of a feature without a window: read only on that error."""
    from .genome.textfile import open_text

    needles = [f'"{feature}"', f"={feature};", f"={feature}\n", f":{feature};"]
    with open_text(path) as fh:
        tail = ""
        while chunk := fh.read(1 << 24):
            text = tail + chunk
            if any(n in text for n in needles):
                return True
            tail = text[-len(feature) - 4:]
    return False


def _variant_index(window, allele) -> int | None:
    """The window index of the allele's first REF base (forward strand; None where the window does
    not hold it)."""
    at = np.flatnonzero(np.asarray(window.positions) == allele.start)
    return int(at[0]) if at.size else None


def _variant_span(window, allele) -> tuple[int, int] | None:
    """[first, last] window indices (model orientation) of the allele's REF bases that lie in the
    window, for a REF of two or more bases (None for one base, or none in the window)."""
    if len(allele.ref) < 2:
        return None
    positions = np.asarray(window.positions)
    at = np.flatnonzero((positions >= allele.start) & (positions < allele.start + len(allele.ref)))
    return (int(at.min()), int(at.max())) if at.size else None


def _snv_edits(seq: str) -> tuple[np.ndarray, list[str], list[str]]:
    """(model index, ref base, alt base) of every single-base substitution of ``seq``: the three other
    bases at an A/C/G/T position, all four at N."""
    index, refs, alts = [], [], []
    for i, b in enumerate(seq.upper()):
        for a in BASES:
            if a != b:
                index.append(i)
                refs.append(b)
                alts.append(a)
    return np.asarray(index, dtype=np.int64), refs, alts


@in_run_scope
def ism(model, fasta, gtf=None, *, feature: str | None = None, region: str | None = None, vcf=None,
        variant: str | None = None, indels: bool = False, batch_size: int = 64, device: str = "cpu",
        weights=None, threads: int | None = None, chrom_alias=None, incremental: bool = True,
        check_window=None, **options):
    """In-silico mutagenesis of one window of ``model`` (see the module docstring).

    Returns ``(table, window)``: a pandas DataFrame with one row per variant and an
    :class:`IsmWindow` (the reference window, its predictions, the spec) for plots.
    ``check_window``: called with the :class:`~seqzoo.windows.base.ReferenceWindow` once it is
    known, before any prediction (to refuse options that depend on it, e.g. ``seqzoo ism
    --plot-positions`` beyond the window's length, before the work).
    """
    import pandas as pd

    from .api import _specs_of, setup_run
    from .scoring import literal_model, predict_unique

    check_window_options(feature, region, vcf, variant)  # (needs no set-up: before the weights load)
    if region is not None:  # before the set-up (a missing --gtf, the weights), which would complain first
        from .genome.fasta import Genome
        from .genome.names import ContigNames

        _no_region_mode(_specs_of(model))
        parse_region(region)
        # a region off the FASTA's contigs is refused before the weights load (the alias file's path
        # made absolute as setup_run makes it, so that messages name it alike)
        genome = Genome(fasta)
        alias = os.path.abspath(os.fspath(chrom_alias)) if chrom_alias is not None else None
        region_window(region, genome, ContigNames(genome.lengths, aliases=alias, fasta=genome.path))
    setup = setup_run(model, fasta, vcf, gtf, score=True, batch_size=batch_size,
                      device=device, weights=weights, threads=threads, chrom_alias=chrom_alias, warn_inputs=False,
                      **options)
    if len(setup.specs) != 1:
        raise UsageError("seqzoo ism takes one model")
    spec = setup.specs[0]
    torch_model = setup.models[spec.name][1]
    rule = setup.windows.rules[spec.name]
    window, allele = _window(setup, spec, rule, feature, region, vcf, variant)
    if hasattr(rule, "warn_inputs"):  # about this window's inputs only (not every gene of the annotation)
        rule.warn_inputs([window.feature_id])
    if check_window is not None:
        check_window(window)
    seq, strand = window.seq, window.strand
    other = [i for i, b in enumerate(seq.upper()) if b not in BASES]
    if other:
        log.warning("%s: %d of the window's %d positions hold no A/C/G/T base (%s at window index %d%s), which the "
                    "model reads as unknown; their rows put each of A, C, G and T there (seqzoo score skips a VCF "
                    "REF that is not A/C/G/T as non_acgt_allele)", window.feature_id, len(other), len(seq),
                    seq[other[0]], other[0], ", ..." if len(other) > 1 else "")
    index, ref_bases, alt_bases = _snv_edits(seq)
    kinds = ["snv"] * len(index)
    edits = [(int(i), int(i) + 1, a) for i, a in zip(index, alt_bases)]
    if indels:
        for i in range(len(seq)):  # deleting base i, then inserting each base before base i
            edits.append((i, i + 1, ""))
            ref_bases.append(seq[i].upper())
            alt_bases.append("-")
            kinds.append("deletion")
        for i in range(len(seq) + 1):
            for a in BASES:
                edits.append((i, i, a))
                ref_bases.append("-")
                alt_bases.append(a)
                kinds.append("insertion")
    inputs = {k: np.asarray(v)[None] for k, v in (window.inputs or {}).items()}
    fixed_length = spec.name != "Framepool" and not getattr(torch_model, "variable_length", False)
    n = len(edits)
    starts = np.array([e[0] for e in edits], dtype=np.int64)
    ends = np.array([e[1] for e in edits], dtype=np.int64)
    alts = [e[2] for e in edits]
    use_edits = incremental and hasattr(torch_model, "predict_edits")
    if not incremental:  # full passes of the model as such, no lookup tables (the incremental path's reference)
        torch_model = literal_model(torch_model)
    window_starts = starts
    # variable-length windows: a deletion can leave no A/C/G/T base (a 1-nt 5'UTR, or N bases around
    # one), which the model cannot score (score_vcf's window_without_bases): it is predicted as the
    # unchanged window, then given NaN
    empty = np.zeros(n, dtype=bool)
    if not fixed_length:
        from .nets.edits import NO_BASE, base_codes
        bases = np.r_[0, np.cumsum(base_codes(seq) < NO_BASE)]  # A/C/G/T bases before each index (as the model counts)
        kept = bases[-1] - (bases[ends] - bases[starts])
        empty = kept + np.fromiter(map(len, alts), np.int64, n) == 0  # (every ISM allele is A/C/G/T)
        if empty.any():  # (the table keeps window_starts)
            first = seq[:1]
            starts, ends = np.where(empty, 0, starts), np.where(empty, 1, ends)
            alts = [first if e else a for a, e in zip(alts, empty.tolist())]
            edits = [(0, 1, first) if e else x for x, e in zip(edits, empty.tolist())]
    unscorable = np.zeros(n, dtype=bool)  # indels of fixed windows that leave the contig (see _fixed_indel)
    if use_edits and not (fixed_length and indels):
        ref_out, alt_out = torch_model.predict_edits([seq], np.zeros(n, dtype=np.int64), starts, ends, alts,
                                                     batch_size=batch_size, **inputs)
    else:
        snv = np.array([k == "snv" for k in kinds])
        alt_seqs = [seq[:s] + a + seq[e:] for s, e, a in edits]
        if fixed_length and indels:  # the window rule's own indel: the anchor keeps its index
            alt_seqs = [a if k == "snv" else _fixed_indel(setup, spec, rule, window, s, e, alt) for a, k, s, e, alt
                        in zip(alt_seqs, kinds, starts, ends, alts)]
            unscorable = np.array([a is None for a in alt_seqs])
            alt_seqs = [seq if a is None else a for a in alt_seqs]  # (predicted, then set to NaN below)
        ref_out = torch_model.predict_sequences([seq], batch_size=batch_size, **inputs)
        per_seq = {k: np.repeat(v, n, axis=0) for k, v in inputs.items()}
        if use_edits and snv.any():  # substitutions incrementally, the indels as full passes
            _, part = torch_model.predict_edits([seq], np.zeros(int(snv.sum()), dtype=np.int64), starts[snv], ends[snv],
                                                [a for a, s in zip(alts, snv) if s], batch_size=batch_size, **inputs)
            full = predict_unique(torch_model, [a for a, s in zip(alt_seqs, snv) if not s], batch_size,
                                  inputs=[{k: v[0] for k, v in inputs.items()}] * int((~snv).sum()) if inputs else None)
            alt_out = {k: np.empty((n,) + part[k].shape[1:], dtype=part[k].dtype) for k in part}
            for k in alt_out:
                alt_out[k][snv], alt_out[k][~snv] = part[k], full[k]
        else:
            alt_out = torch_model.predict_sequences(alt_seqs, batch_size=batch_size, **per_seq)
    for rows, why in ((unscorable, f"have no alt window (the model's window rule would read past an end of contig "
                                   f"{window.chrom})"), (empty, "leave no A/C/G/T base in the window")):
        if rows.any():  # no values, and said so
            log.warning("%s ISM of %s: %d of the %d 1-nt indels %s; their alt outputs and effects are NaN",
                        spec.name, window.feature_id, int(rows.sum()), int(sum(k != "snv" for k in kinds)), why)
    lost = unscorable | empty
    alt_out = _nan_rows(alt_out, lost)
    ref_rows = {k: np.repeat(v[:1], n, axis=0) for k, v in ref_out.items()}
    effects = _nan_rows(spec.effects(ref_rows, alt_out), lost)  # integer effects too (APARENT2's argmax positions)
    positions = window.positions
    genome_pos = np.array([positions[min(s, len(seq) - 1)] if k != "insertion" else
                           positions[s - 1] if s > 0 else positions[0] + (-1 if strand == "+" else 1)
                           for s, k in zip(window_starts, kinds)], dtype=np.int64)
    table = pd.DataFrame({
        "model": spec.name, "feature_id": window.feature_id, "gene_id": window.gene_id,
        "window_index": window_starts, "chrom": window.chrom, "pos": genome_pos + 1, "strand": strand,
        "ref": ref_bases, "alt": alt_bases,
        "ref_forward": [b.translate(_COMPLEMENT) if strand == "-" and b != "-" else b for b in ref_bases],
        "alt_forward": [b.translate(_COMPLEMENT) if strand == "-" and b != "-" else b for b in alt_bases],
        "kind": kinds})
    for k in spec.outputs:
        table[f"alt_{k}"] = alt_out[k]
    for k in spec.effect_names:
        table[k] = effects[k]
    for k in spec.outputs:
        table[f"ref_{k}"] = ref_out[k][0]
    for col in spec.note_columns:  # e.g. Xpresso's halflife_source: where the window's inputs came from
        table[col] = (window.notes or {}).get(col, "")
    return table, IsmWindow(spec.name, spec, window, {k: v[0] for k, v in ref_out.items()},
                            _variant_index(window, allele) if allele is not None else None,
                            allele.variant_id if allele is not None else None,
                            _variant_span(window, allele) if allele is not None else None)


def _nan_rows(values: dict, rows: np.ndarray) -> dict:
    """``values`` (arrays with a first axis of rows) with NaN in ``rows`` (integer arrays become float);
    as given when no row is marked."""
    if not rows.any():
        return values
    out = {}
    for k, v in values.items():
        v = np.asarray(v)
        out[k] = v.astype(np.result_type(v.dtype, np.float32))
        out[k][rows] = np.nan
    return out


def _fixed_indel(setup, spec, rule, window, start: int, end: int, alt: str) -> str | None:
    """The alt window of a 1-nt indel at model index ``start`` of a fixed window, built by the model's
    window rule from the genome (so the anchor keeps its index, as for a VCF indel). The reference
    window where the indel misses it (an insertion at the window's outer edge pushes nothing in);
    None where the model cannot score it: a deletion of the contig's first base (no VCF anchor before
    it), or one the window rule skips (``window_past_contig_end``: e.g. a deletion shifting in a base
    from before a window that starts at the contig's first base)."""
    from .genome.vcf import VariantAllele

    positions, strand = window.positions, window.strand
    genome = setup.windows.genome
    if alt == "":  # deletion of the base at model index start: a VCF deletion anchored on the base before
        p = int(positions[start]) - 1
        if p < 0:
            return None
        anchor = genome.fetch(window.chrom, p, p + 1)
        ref = anchor + genome.fetch(window.chrom, p + 1, p + 2)
        allele = VariantAllele(window.chrom, p + 1, ref, anchor, None, 0, 0)
    else:  # insertion before model index start
        if strand == "+":
            p = int(positions[start]) - 1 if start < len(positions) else int(positions[-1])
            base = alt
        else:
            p = int(positions[start]) if start < len(positions) else int(positions[-1]) - 1
            base = reverse_complement(alt)
        if p < 0:  # before the contig's first base, at the window's outer edge: it pushes nothing in
            return window.seq
        anchor = genome.fetch(window.chrom, p, p + 1)
        allele = VariantAllele(window.chrom, p + 1, anchor, anchor + base, None, 0, 0)
    pairs, skips = rule.windows(allele, window.chrom)
    pair = next((x for x in pairs if x.feature_id == window.feature_id), None)
    if pair is not None:
        return pair.alt_seq
    if any(x.feature_id == window.feature_id for x in skips):  # e.g. window_past_contig_end
        return None
    return window.seq  # the allele misses the window (an insertion at its outer edge): unchanged
