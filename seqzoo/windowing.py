"""From VCF alleles to model windows: every allele checked once, then offered to each model's window
rule, the models' outcomes combined (:func:`seqzoo.accounting.combine_models`) and counted.

The pieces are functions: :func:`build_rules` (each model's window rule from the FASTA, GTF and
options), :func:`seqzoo.genome.alleles.check_allele` (can the allele be applied at all),
:func:`model_outcome` (one model's windows for one allele), ``combine_models`` and
:meth:`RunSummary.count`. :class:`VariantWindows` strings them together over a VCF and cuts the
stream into :class:`Chunk` objects of whole records.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .accounting import AlleleResult, DuplicateIds, ModelOutcome, RunSummary, Skip, combine_models, combined_failure
from .encoding import first_non_letter_byte
from .errors import UsageError
from .gc_passes import paused_gc
from .genome.alleles import check_allele
from .genome.assembly import RefMismatchMonitor, warn_if_other_assembly
from .genome.fasta import Genome, GenomeError, not_a_letter
from .genome.gtf import ContigMismatchError
from .genome.names import ContigNames
from .genome.vcf import RecordBlock, VariantAllele, iter_record_blocks
from .ragged import rows_by_value, run_positions
from .table import as_text_column, take_text, text_column, upper_text
from .windows.base import WindowPair

log = logging.getLogger("seqzoo.scoring")

_BASES = frozenset("ACGT")


def build_rules(specs, genome: Genome, gtf_file, names: ContigNames, options: dict,
                leave_out_unusable: bool = False) -> dict:
    """{model name: window rule} for ``specs``; ``options`` go to the rules that take them.

    An option no model takes is a :class:`UsageError`. With ``leave_out_unusable`` (``--model
    all``) a model whose windows cannot be built from the inputs (a GTF without its features) is
    left out with a warning; otherwise that GenomeError is raised (a GTF none of whose contigs is
    in the FASTA always is).
    """
    for option, value in options.items():
        if value is not None and not any(option in spec.rule_options for spec in specs):
            raise UsageError(f"--{option.replace('_', '-')} does not apply to model "
                             f"{', '.join(spec.name for spec in specs)} ({option}= in Python)")
    rules = {}
    for spec in specs:
        kwargs = {k: v for k, v in options.items() if k in spec.rule_options and v is not None}
        try:
            rules[spec.name] = spec.window_rule(genome, gtf_file, names, **kwargs)
        except GenomeError as exc:  # e.g. a GTF without the features this model reads
            if not leave_out_unusable or isinstance(exc, ContigMismatchError):  # wrong for every model
                raise
            log.warning("--model all: leaving out %s: %s", spec.name, exc)
    if not rules:
        raise GenomeError("--model all: no model can build windows from these inputs; see the warnings above")
    return rules


def model_outcome(spec, rule, allele: VariantAllele, chrom: str) -> ModelOutcome:
    """One model's windows for an allele (REF checked, on FASTA contig ``chrom``).

    A window pair whose ref or alt window has no A/C/G/T base is a ``window_without_bases`` feature
    skip. A model without pairs fails with its features' reason (the first; the detail names every
    feature), or with its spec's ``no_feature`` reason when no feature holds the allele.
    """
    pairs, feature_skips = rule.windows(allele, chrom)
    rows: list = []
    for pair in pairs:
        if _BASES.isdisjoint(pair.alt_seq) or _BASES.isdisjoint(pair.ref_seq):
            feature_skips.append(_without_bases(pair.feature_id))
        else:
            object.__setattr__(pair, "model", spec.name)  # the rule's fresh pair: name its model (no copy)
            rows.append(pair)
    skips = [Skip(allele, fs.reason, fs.detail, fs.feature_id, spec.name) for fs in feature_skips]
    if rows:
        return ModelOutcome(spec.name, rows, skips, None, True)
    if feature_skips:  # one reason for the allele, naming every feature it failed in
        failure = (feature_skips[0].reason, "; ".join(f"{fs.feature_id}: {fs.detail}" for fs in feature_skips))
        return ModelOutcome(spec.name, [], skips, failure, True)
    return ModelOutcome(spec.name, [], [], tuple(spec.no_feature), False)


def _without_bases(feature_id: str):
    from .windows.base import FeatureSkip
    return FeatureSkip(feature_id, "window_without_bases", "the ref or alt window has no A/C/G/T base")


@dataclass
class OutsideRun:
    """Consecutive alleles (VCF order) outside every model's features: no window and no failure, so
    no row and no skip row; OUT.outside.tsv lists them as runs. ``first`` / ``last``: (1-based record,
    0-based ALT index) of the first and the last allele; ``first_at`` / ``last_at``: their chrom:pos."""

    first: tuple[int, int]
    last: tuple[int, int]
    alleles: int
    first_at: str
    last_at: str
    reason: str
    #: its last allele is the last ALT of its record (so the next record's first allele may continue
    #: it); kept in a stopped run's progress note, not in OUT.outside.tsv
    ends_record: bool = True

    COLUMNS = ("first_record", "first_alt_index", "last_record", "last_alt_index", "alleles", "first_at",
               "last_at", "reason")

    def as_row(self) -> dict:
        return dict(zip(self.COLUMNS, (*self.first, *self.last, self.alleles, self.first_at, self.last_at,
                                        self.reason)))

    def as_note(self) -> dict:
        """:meth:`as_row` and ``ends_record``: the open run of a progress note."""
        return dict(self.as_row(), ends_record=self.ends_record)

    @classmethod
    def from_row(cls, row: dict) -> "OutsideRun":
        return cls((int(row["first_record"]), int(row["first_alt_index"])),
                   (int(row["last_record"]), int(row["last_alt_index"])), int(row["alleles"]), row["first_at"],
                   row["last_at"], row["reason"], bool(row.get("ends_record", True)))


@dataclass
class Chunk:
    """Consecutive whole VCF records' events: ``pairs`` to score, ``skips`` to report, ``outside``
    runs (:class:`OutsideRun`; only when the stream reports them as runs).

    ``last_record``: the 1-based number of the last VCF record in the chunk, at ``last_record_at``
    (its ``chrom:pos`` as in the VCF); ``summary``: the run's :meth:`RunSummary.to_dict` after it.
    """

    pairs: list
    skips: list
    last_record: int
    last_record_at: str
    summary: dict
    outside: list = field(default_factory=list)
    #: the run the chunk ends in, which the next chunk may continue (written once it ends): a
    #: resumed run starts from it, so that OUT.outside.tsv does not depend on the chunk size
    open_run: "OutsideRun | None" = None


class FastIndex:
    """The vectorised paths, a block of records at a time (numpy): records outside every model's
    features, and alleles inside the windows of a single model.

    Built from the window rules' ``spans()`` (None from any rule, e.g. variant-centred windows:
    no record is outside). A record is *clean* when REF and each of its ALTs (comma-separated, none
    empty) are A/C/G/T only, its contig is in the FASTA, REF lies inside the contig and equals the
    FASTA. A clean record whose REF overlaps no span gets no window and no skip in any model, for
    every ALT (*outside*; :meth:`classify` gives each record's ALT count). With one model whose
    rule offers ``block_segments()`` (:class:`~seqzoo.windows.base.BlockSegments`: the fixed windows
    of APARENT2, Xpresso and HAL, the 5'UTR exons of Framepool), a clean record whose REF lies inside
    every segment it overlaps (an indel may overhang a fixed window), each usable, gets one row per
    such segment's feature, its edit from the rule's ``block_edits`` (the anchor rule in numpy for
    fixed windows), unless an edit would need sequence past the contig end (*in-window*); no feature
    can be skipped there; a record with several ALTs is taken in-window when each of its ALTs is, one
    row per (ALT, feature). Both give exactly what the
    per-allele path gives (tests/test_outside.py, tests/test_fast_rows.py, tests/test_block_edits.py);
    every other record takes the per-allele path.
    """

    _ACGT = np.zeros(256, dtype=bool)
    for _b in b"ACGTacgt":
        _ACGT[_b] = True

    def __init__(self, rules: dict, genome: Genome, names: ContigNames, rows: bool = False):
        self.names, self.genome = names, genome
        spans = [_rule_spans(rule) for rule in rules.values()]
        self.usable = all(s is not None for s in spans)
        self._reader = genome.bases if self.usable else None
        self.usable = self.usable and self._reader.usable
        by_chrom: dict[str, list] = {}
        for rule_spans in (spans if self.usable else []):
            for chrom, pair in rule_spans.items():
                by_chrom.setdefault(chrom, []).append(pair)
        self._merged = {chrom: _merge(np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs]))
                        for chrom, pairs in by_chrom.items()}
        rule = next(iter(rules.values()))
        self.rule = rule if rows and self.usable and len(rules) == 1 and hasattr(rule, "block_segments") else None
        self._segments = {}
        if self.rule is not None:  # per contig: segments sorted by (start, end), their index, usable?
            segs = self.rule.block_segments()
            self._rank, self._feature, self._indels_overhang = segs.rank, segs.feature, segs.indels_overhang
            for chrom, idx in rows_by_value(segs.chrom).items():
                idx = idx[np.lexsort((segs.end[idx], segs.start[idx]))]
                starts, ends = segs.start[idx], segs.end[idx]
                self._segments[chrom] = (starts, ends, idx, segs.usable[idx], int((ends - starts).max()))

    def classify(self, block: RecordBlock) -> tuple[np.ndarray, np.ndarray, "FastRowsOf | None", np.ndarray]:
        """(outside?, in-window?, the in-window rows, ALT count) per record of ``block``."""
        n = len(block)
        outside = np.zeros(n, dtype=bool)
        inside = np.zeros(n, dtype=bool)
        n_alts = np.ones(n, dtype=np.int64)
        rows = []
        if not self.usable or not n:
            return outside, inside, None, n_alts
        refs, alts = block.ref, block.alt
        ref_len = np.fromiter(map(len, refs), dtype=np.int64, count=n)
        alt_len = np.fromiter(map(len, alts), dtype=np.int64, count=n)
        text = np.frombuffer("".join(refs).encode("ascii", "replace") + "".join(alts).encode("ascii", "replace"),
                             dtype=np.uint8)
        ref_chars = int(ref_len.sum())
        comma = text == ord(",")  # between two ALTs (in the ALT part of the text only)
        comma[:ref_chars] = False
        bad = ~self._ACGT[text] & ~comma  # '.', '*', '<', N, ... all fail
        owner = np.repeat(np.arange(2 * n) % n, np.concatenate([ref_len, alt_len]))
        clean = np.ones(n, dtype=bool)
        clean[owner[bad]] = False
        clean &= (ref_len > 0) & (alt_len > 0)
        if comma.any():  # several ALTs: none may be empty (a ',' first, last or twice: 'A,', ',A', 'A,,C')
            filled = np.flatnonzero(alt_len > 0)
            first = ref_chars + np.cumsum(alt_len) - alt_len  # each ALT field's first character in text
            empty = np.zeros(n, dtype=bool)
            empty[filled] = comma[first[filled]] | comma[first[filled] + alt_len[filled] - 1]
            empty[owner[np.flatnonzero(comma[:-1] & comma[1:])]] = True
            clean &= ~empty
            n_alts += np.bincount(owner[comma], minlength=n)
        starts = block.pos - 1
        chroms = block.chrom
        names = set(chroms)
        chrom_column = text_column(chroms) if len(names) > 1 else None
        for name in names:
            fasta = self.names.resolve(name, "VCF", report=False)
            if fasta is not None:  # (unmatched names are recorded by the per-allele path)
                self.names.resolve(name, "VCF")  # says once when the names differ in case only
            sel = np.flatnonzero(clean & (chrom_column == name)) if len(names) > 1 else np.flatnonzero(clean)
            if fasta is None or not len(sel):
                continue
            s, e = starts[sel], starts[sel] + ref_len[sel]
            inside_contig = (s >= 0) & (e <= self.genome.lengths[fasta])
            sel, s, e = sel[inside_contig], s[inside_contig], e[inside_contig]
            if not len(sel):
                continue
            lens = e - s
            positions = run_positions(s, lens)
            want = np.frombuffer("".join(map(refs.__getitem__, sel.tolist())).upper().encode("ascii"), dtype=np.uint8)
            agree = np.logical_and.reduceat(self._reader.codes(fasta, positions) == want, np.cumsum(lens) - lens)
            sel, s, e = sel[agree], s[agree], e[agree]
            merged = self._merged.get(fasta)
            hit = np.zeros(len(sel), dtype=bool)
            if merged is not None and len(merged[0]):
                k = np.searchsorted(merged[0], e, side="left") - 1
                hit = (k >= 0) & (merged[1][np.maximum(k, 0)] > s)
            outside[sel[~hit]] = True
            segments = self._segments.get(fasta)
            if segments is None or not hit.any():
                continue
            found = self._alleles_in_segments(segments, sel[hit], s[hit], e[hit], ref_len, alt_len, n_alts, alts,
                                              fasta)
            if found is not None:
                inside[found[0]] = True
                rows.append(found[1:])
        if not rows:
            return outside, inside, None, n_alts
        records, alt_index, segments, starts, ends = (np.concatenate([r[k] for r in rows]) for k in range(5))
        alleles = np.concatenate([r[5] for r in rows])
        # VCF order; per record its ALTs in order, per ALT the per-allele path's order of features
        order = np.lexsort((self._rank[segments], alt_index, records))
        return outside, inside, FastRowsOf(records[order], alt_index[order], self._feature[segments[order]],
                                           starts[order], ends[order], alleles[order]), n_alts

    def _letters(self, fasta: str, positions: np.ndarray) -> np.ndarray:
        """The FASTA's bases at ``positions`` of contig ``fasta`` (upper-case ASCII codes), each a
        nucleotide letter (else the GenomeError that names the FASTA, contig and position)."""
        codes = self._reader.codes(fasta, positions)
        at = first_non_letter_byte(codes.tobytes())
        if at >= 0:
            raise not_a_letter(self.genome.path, fasta, chr(codes[at]), int(positions[at]))
        return codes

    def _alleles_in_segments(self, segments, sel, s, e, ref_len, alt_len, n_alts, alts, fasta):
        """:meth:`_in_segments` for the alleles of clean records ``sel`` (REF at forward [s, e)) that
        overlap a segment, each ALT of a multi-ALT record on its own (``alt_len``: the lengths of
        the records' ALT fields): (records all of whose alleles are in-window; their rows' records,
        ALT indices, segments, edit starts, ends and replacements), or None."""
        counts = n_alts[sel]
        fields = upper_text(take_text(alts, sel))
        if (counts == 1).all():
            allele_alts, owner, allele_len = fields, np.arange(len(sel)), alt_len[sel]
        else:
            allele_alts = text_column([a for field in fields.tolist() for a in field.split(",")])
            owner = np.repeat(np.arange(len(sel)), counts)
            allele_len = np.fromiter(map(len, allele_alts), dtype=np.int64, count=len(allele_alts))
        found = self._in_segments(segments, np.arange(len(owner)), s[owner], e[owner],
                                  ref_len[sel][owner] != allele_len, allele_alts, fasta)
        if found is None:
            return None
        good_alleles, row_allele, seg, starts, ends, repl = found
        # a record is in-window when every one of its ALTs is (else all its ALTs take the per-allele path)
        whole = np.bincount(owner[good_alleles], minlength=len(sel)) == counts
        keep = whole[owner[row_allele]]
        if not keep.any():
            return None
        first_allele = np.cumsum(counts) - counts  # each record's first allele
        row_allele = row_allele[keep]
        rec = owner[row_allele]
        return (sel[whole], sel[rec], row_allele - first_allele[rec], seg[keep], starts[keep], ends[keep],
                repl[keep])

    def _in_segments(self, segments, sel, s, e, indel, alts, fasta):
        """Of clean records ``sel`` (REF at forward [s, e) on ``fasta``, ALTs ``alts`` (a ``str`` column),
        ``indel``: the lengths differ) whose REF overlaps a segment: (records whose REF lies inside
        every segment it overlaps (an indel may overhang it where the rule allows), each usable, no
        feature twice, every edit usable; their rows' records, segments, edit starts, ends and
        replacements (a ``str`` column)), or None."""
        seg_start, seg_end, seg_index, usable, longest = segments
        lo = np.searchsorted(seg_start, s - longest + 1, side="left")
        hi = np.searchsorted(seg_start, e, side="left")
        count = hi - lo
        cand = run_positions(lo, count)
        owner = np.repeat(np.arange(len(sel)), count)
        overlaps = seg_end[cand] > np.repeat(s, count)
        cand, owner = cand[overlaps], owner[overlaps]
        holds = (seg_start[cand] <= s[owner]) & (seg_end[cand] >= e[owner])
        if self._indels_overhang:
            holds |= indel[owner]
        holds &= usable[cand]
        good = np.ones(len(sel), dtype=bool)
        good[owner[~holds]] = False
        good &= np.bincount(owner, minlength=len(sel)) > 0
        feats = self._feature[seg_index[cand]]
        pairs = np.lexsort((feats, owner))
        twice = (owner[pairs][1:] == owner[pairs][:-1]) & (feats[pairs][1:] == feats[pairs][:-1])
        good[owner[pairs][1:][twice]] = False  # two segments of one feature (e.g. overlapping exons)
        keep = good[owner]
        cand, owner = cand[keep], owner[keep]
        if not len(cand):
            return None
        starts, ends, repl, ok = self.rule.block_edits(
            seg_index[cand], s[owner], e[owner], alts[owner], functools.partial(self._letters, fasta),
            self.genome.lengths[fasta])
        good[owner[~ok]] = False  # e.g. an indel pulling in sequence past the contig end
        keep = good[owner]
        if not keep.any():
            return None
        repl = as_text_column(repl)[keep]
        return sel[good], sel[owner[keep]], seg_index[cand[keep]], starts[keep], ends[keep], repl


@dataclass
class FastRowsOf:
    """Rows of a block's in-window records, one per row: record index in the block, ALT index in the
    record, the rule's feature index and the edit of the feature's reference window (model
    orientation)."""

    records: np.ndarray
    alt_index: np.ndarray
    features: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    alts: np.ndarray  # str column


def _rule_spans(rule) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """A window rule's spans (``spans()``: forward [start, end) on FASTA contigs that no allele
    outside them can affect) as {contig: (starts, ends)} int64 arrays (``span_arrays()`` where the
    rule has it, unless a subclass overrides ``spans()`` alone); None where the rule has none (every
    position has a window)."""
    arrays_at = _defined_at(type(rule), "span_arrays")
    if arrays_at <= _defined_at(type(rule), "spans") and arrays_at != float("inf"):  # (not a subclass's own spans())
        return rule.span_arrays()
    spans = rule.spans() if hasattr(rule, "spans") else None
    if spans is None:
        return None
    out: dict[str, tuple[list, list]] = {}
    for chrom, start, end in spans:
        starts, ends = out.setdefault(chrom, ([], []))
        starts.append(start)
        ends.append(end)
    return {chrom: (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)) for chrom, (a, b) in out.items()}


def _defined_at(cls: type, name: str) -> float:
    """Position in ``cls``'s method resolution order of the class that defines ``name`` (inf: none)."""
    return next((i for i, k in enumerate(cls.__mro__) if name in k.__dict__), float("inf"))


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, disjoint [start, end) covering the intervals [starts[i], ends[i]) (intervals that
    touch are merged): sorted by (start, end), a new interval begins where a start lies past every
    end before it."""
    order = np.lexsort((ends, starts))
    starts, ends = starts[order], ends[order]
    if not starts.size:
        return starts, ends
    first = np.flatnonzero(np.r_[True, starts[1:] > np.maximum.accumulate(ends)[:-1]])
    return starts[first], np.maximum.reduceat(ends, first)


class VariantWindows:
    """One or several models' windows for the alleles of a VCF, with the run's accounting.

    Opens the FASTA (contig names harmonised, through the UCSC chromAlias file ``chrom_alias`` when
    given: :class:`seqzoo.genome.names.ContigNames`) and builds each model's window rule once
    (:func:`build_rules`; ``rule_options`` such as Xpresso's ``halflife_file``, and
    ``leave_out_unusable`` for ``--model all``: :attr:`specs` are the models kept), then gives each
    rule's warnings about its inputs (``warn_inputs``, e.g. genes a half-life file lacks). Iterating
    :meth:`results` (or :meth:`events`, :meth:`chunks`) over a VCF counts every allele into
    :attr:`summary`; a new pass starts a fresh summary.
    """

    def __init__(self, specs, fasta_file, gtf_file, leave_out_unusable: bool = False, chrom_alias=None,
                 warn_inputs: bool = True, **rule_options):
        specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
        self.genome = Genome(fasta_file)
        self.gtf_file = gtf_file
        self.names = ContigNames(self.genome.lengths, aliases=chrom_alias, fasta=self.genome.path)
        with paused_gc():  # ~10^6 long-lived objects for a GENCODE-size annotation (see seqzoo.gc_passes)
            self.rules = build_rules(specs, self.genome, gtf_file, self.names, rule_options, leave_out_unusable)
        self.specs = [spec for spec in specs if spec.name in self.rules]
        if warn_inputs:  # e.g. Xpresso: genes the half-life file lacks (seqzoo ism: of its one window only)
            for rule in self.rules.values():
                if hasattr(rule, "warn_inputs"):
                    rule.warn_inputs()
        self.summary = RunSummary(unmatched_contigs=self.names.unmatched)

    @property
    def spec(self):
        return self.specs[0]

    @property
    def rule(self):
        """The first model's window rule."""
        return self.rules[self.specs[0].name]

    def result(self, allele: VariantAllele) -> AlleleResult:
        """Every model's rows and skips for one allele (not counted)."""
        chrom, problem = check_allele(allele, self.genome, self.names)
        if problem is not None:
            return combine_models(allele, [], problem)
        return combine_models(allele, [model_outcome(spec, self.rules[spec.name], allele, chrom)
                                       for spec in self.specs])

    def results(self, vcf_file, after_record: int = 0) -> Iterator[AlleleResult]:
        """Every allele's :class:`AlleleResult` in VCF order, counted into :attr:`summary` before it
        is yielded. Records numbered up to ``after_record`` are read (their IDs are remembered, for
        the duplicate-ID count) but not windowed: a resumed run, whose summary was restored."""
        for item in self._uncounted(vcf_file, after_record, runs=False):
            self._count(item)
            yield item
        self._refs.finish(self.summary)

    def _uncounted(self, vcf_file, after_record: int, runs: bool, rows: bool = False) -> Iterator:
        """:class:`AlleleResult` objects, and the vectorised paths' items: with ``runs``
        :class:`_FastRecords` (records outside every feature), with ``rows`` :class:`FastRows`
        (clean alleles inside one model's windows), in VCF order, not yet counted."""
        if after_record == 0 and self.summary.alleles:  # a new pass: count afresh
            self.summary = RunSummary(unmatched_contigs=self.names.unmatched)
        warn_if_other_assembly(vcf_file, self.genome, self.names)
        self._vcf_file, self._refs = vcf_file, RefMismatchMonitor(vcf_file)
        ids = DuplicateIds()
        with paused_gc():  # arrays of every window: see seqzoo.gc_passes
            fast = FastIndex(self.rules, self.genome, self.names, rows=rows) if runs or rows else None
        for block in iter_record_blocks(vcf_file):
            dup, false = ids.flags(block.ids)  # every record, in VCF order (the resumed ones too)
            n = len(block)
            skip = max(0, min(n, after_record - block.first_record + 1))
            kind = np.zeros(n, dtype=np.int8)  # 0: per allele, 1: outside, 2: in-window rows
            found = None
            if fast is not None:
                outside, inside, found, n_alts = fast.classify(block)
                if runs:
                    kind[outside] = 1
                if rows and found is not None:
                    kind[inside] = 2
            kind[:skip] = 0
            # runs of equal kind: where the kind changes
            change = np.flatnonzero(np.diff(np.r_[-1, kind, -1])) if n else np.zeros(1, dtype=np.int64)
            i = skip
            for a, b in zip(change[:-1].tolist(), change[1:].tolist()):
                if b <= i:
                    continue
                a = max(a, i)
                lo, hi = np.searchsorted(found.records, [a, b]) if kind[a] == 2 else (0, 0)
                if kind[a] == 1:
                    yield _FastRecords(block, a, b, dup[a:b], false[a:b], n_alts[a:b])
                elif kind[a] == 2:
                    yield FastRows(block, a, b, found.records[lo:hi], found.alt_index[lo:hi], found.features[lo:hi],
                                   found.starts[lo:hi], found.ends[lo:hi], found.alts[lo:hi], dup[a:b], false[a:b],
                                   n_alts[a:b], self.specs[0], self.rules[self.specs[0].name])
                else:
                    for k in range(a, b):
                        for allele in block.alleles(k):
                            result = self.result(allele)
                            result.duplicate = (bool(dup[k]), float(false[k])) if allele.alt_index == 0 else None
                            yield result
                i = b

    def _count(self, item) -> None:
        s = self.summary
        if isinstance(item, FastRows):
            n, alleles, m = item.end - item.start, int(item.n_alts.sum()), len(item.records)
            s.count_duplicates(item.dup, item.false, item.block.ids[item.start:item.end],
                               range(item.block.first_record + item.start, item.block.first_record + item.end),
                               self._vcf_file)
            s.records += n
            s.alleles += alleles
            s.rows += m
            s.scored_alleles += alleles
            s.model_rows[item.spec.name] += m
            s.model_scored_alleles[item.spec.name] += alleles
            s.ref_checked += alleles  # (the per-allele path checks REF once an ALT)
            return
        if isinstance(item, _FastRecords):
            n, alleles = item.end - item.start, int(item.alts.sum())
            s.count_duplicates(item.dup, item.false, item.block.ids[item.start:item.end],
                               range(item.block.first_record + item.start, item.block.first_record + item.end),
                               self._vcf_file)
            s.records += n
            s.alleles += alleles
            s.skipped[self._outside_reason] += alleles
            s.outside_alleles += alleles
            s.ref_checked += alleles  # (REF checked once a record; the per-allele path counts each ALT)
            return
        allele = item.allele
        if item.duplicate is not None and item.duplicate[0]:  # (a record without a duplicate ID counts nothing)
            s.count_duplicates(np.array([item.duplicate[0]]), np.array([item.duplicate[1]]), [allele.vcf_id],
                               [allele.record], self._vcf_file)
        self._refs.add(item, s)
        s.count(item)

    @property
    def _outside_reason(self) -> str:
        """The skip reason of an allele outside every model's features (what combine_models gives)."""
        return combined_failure([(spec.name, tuple(spec.no_feature)) for spec in self.specs])[0] \
            if len(self.specs) > 1 else self.specs[0].no_feature_reason

    def events(self, vcf_file) -> Iterator:
        """Every WindowPair and Skip of ``vcf_file`` in order (per allele: rows, then skips)."""
        for result in self.results(vcf_file):
            yield from result.rows
            yield from result.skips

    def chunks(self, vcf_file, chunk_rows: int, after_record: int = 0, outside_runs: bool = False,
               open_run: OutsideRun | None = None, fast_rows: bool = False) -> Iterator[Chunk]:
        """The results cut into :class:`Chunk` objects at VCF record boundaries.

        A chunk closes at the first record boundary after it holds ``chunk_rows`` events (pairs
        plus skips plus outside runs), so every record's rows are in one chunk. Each chunk carries a
        copy of the summary covering exactly the records up to and including its last one.
        ``outside_runs``: alleles outside every model's features go into the chunk's ``outside``
        runs instead of its skips (whole-genome VCFs: mostly such alleles; they take a vectorised
        path and give one line per run instead of one skip row each).
        """
        if chunk_rows < 1:
            raise UsageError(f"--chunk-rows must be >= 1, not {chunk_rows}")
        pairs: list[WindowPair] = []
        skips: list[Skip] = []
        runs: list[OutsideRun] = [open_run] if open_run is not None else []
        last: tuple | None = None  # (record, chrom:pos) of the last record taken
        # (record, ALT index) of the last allele taken: a run continues only from the allele before
        # (so that no run's range spans an allele of another kind, e.g. a skipped '*' beside an outside ALT)
        prev = open_run.last if open_run is not None and open_run.ends_record else None
        events = 0
        reason = self._outside_reason
        items = self._uncounted(vcf_file, after_record, runs=outside_runs, rows=fast_rows)
        for item in (piece for it in items for piece in (it.cut(chunk_rows) if isinstance(it, FastRows) else (it,))):
            # a new VCF record starts here (a block of fast rows starts at a record)
            new_record = isinstance(item, (_FastRecords, FastRows)) or item.allele.alt_index == 0
            if last is not None and new_record and events >= chunk_rows:
                pending = runs.pop() if runs and runs[-1].last[0] == last[0] else None
                if pending is not None:
                    pending.ends_record = pending.last == prev
                yield Chunk(pairs, skips, last[0], last[1], self.summary.to_dict(), runs, pending)
                pairs, skips, runs, events = [], [], [pending] if pending else [], 0
            self._count(item)
            if isinstance(item, FastRows):
                z = item.end - 1
                last = (item.block.first_record + z, f"{item.block.chrom[z]}:{item.block.pos[z]}")
                prev = (last[0], int(item.n_alts[-1]) - 1)  # (the record's last ALT)
                pairs.append(item)  # scored as a block (seqzoo.scoring.PairScorer.score_fast)
                events += len(item.records)
                continue
            if isinstance(item, _FastRecords):
                b = item.block
                a, z = item.start, item.end - 1
                at = (f"{b.chrom[a]}:{b.pos[a]}", f"{b.chrom[z]}:{b.pos[z]}")
                end = (b.first_record + z, int(item.alts[-1]) - 1)
                _extend(runs, OutsideRun((b.first_record + a, 0), end, int(item.alts.sum()), *at, reason), prev)
                last, prev = (b.first_record + z, at[1]), end
                events += 1
                continue
            allele = item.allele
            last = (allele.record, f"{allele.chrom}:{allele.pos}")
            if outside_runs and item.outside:
                where = f"{allele.chrom}:{allele.pos}"
                key = (allele.record, allele.alt_index)
                _extend(runs, OutsideRun(key, key, 1, where, where, item.skips[0].reason), prev)
                prev = key
                events += 1
                continue
            prev = (allele.record, allele.alt_index)
            pairs += item.rows
            skips += item.skips
            events += len(item.rows) + len(item.skips)
        if last is not None:
            yield Chunk(pairs, skips, last[0], last[1], self.summary.to_dict(), runs)
        elif runs:  # nothing after the resumed record: the open run ends here
            yield Chunk([], [], runs[-1].last[0], runs[-1].last_at, self.summary.to_dict(), runs)
        self._refs.finish(self.summary)


@dataclass
class FastRows:
    """Records ``start:end`` of a block whose alleles lie inside one model's windows (see
    :class:`FastIndex`): one row per (record, ALT, feature), ``records`` (block indices),
    ``alt_index`` (the ALT's index in its record), ``features``
    (the rule's feature indices) and each row's edit of its reference window in model orientation
    (``starts``, ``ends``, ``alts``), in VCF order. Scored without WindowPair objects
    (:meth:`seqzoo.scoring.PairScorer.score_fast`)."""

    block: RecordBlock
    start: int
    end: int
    records: np.ndarray
    alt_index: np.ndarray
    features: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    alts: np.ndarray  # str column
    dup: np.ndarray
    false: np.ndarray
    n_alts: np.ndarray  # per record start:end
    spec: object
    rule: object

    def __len__(self) -> int:
        return len(self.records)

    def edits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, replacement) of each row's edit of its reference window, model orientation."""
        return self.starts, self.ends, self.alts

    def cut(self, max_rows: int) -> list:
        """This block as consecutive blocks of at most ``max_rows`` rows each (more where one record
        has more rows), cut between records."""
        if len(self.records) <= max_rows:
            return [self]
        first_row = np.flatnonzero(np.r_[True, self.records[1:] != self.records[:-1]])  # each record's first row
        cuts, at = [0], 0
        while len(self.records) - at > max_rows:
            k = np.searchsorted(first_row, at + max_rows, side="right") - 1  # the last record start within reach
            at = int(first_row[k]) if first_row[k] > at else int(first_row[min(k + 1, len(first_row) - 1)])
            if at <= cuts[-1]:
                break
            cuts.append(at)
        cuts.append(len(self.records))
        pieces = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            start = self.start if a == 0 else int(self.records[a])
            end = self.end if b == len(self.records) else int(self.records[b])
            lo, hi = start - self.start, end - self.start
            pieces.append(FastRows(self.block, start, end, self.records[a:b], self.alt_index[a:b], self.features[a:b],
                                   self.starts[a:b], self.ends[a:b], self.alts[a:b], self.dup[lo:hi],
                                   self.false[lo:hi], self.n_alts[lo:hi], self.spec, self.rule))
        return pieces


@dataclass
class _FastRecords:
    """Records ``start:end`` of a block that the fast path found outside every feature, with their
    duplicate-ID flags and ALT counts (``alts``: every ALT of such a record is outside)."""

    block: RecordBlock
    start: int
    end: int
    dup: np.ndarray
    false: np.ndarray
    alts: np.ndarray


def _extend(runs: list, run: OutsideRun, before: tuple | None) -> None:
    """Append ``run`` to ``runs``, joined with the last run when it continues it: the same reason,
    and that run ends at ``before``, the (record, ALT index) of the allele just before ``run``'s
    first in the stream (so a run's range holds only its alleles; an allele of another kind
    between them, e.g. a skipped second ALT, ends a run)."""
    if runs:
        last = runs[-1]
        if before is not None and last.last == tuple(before) and last.reason == run.reason:
            runs[-1] = OutsideRun(last.first, run.last, last.alleles + run.alleles, last.first_at, run.last_at,
                                  last.reason)
            return
    runs.append(run)
