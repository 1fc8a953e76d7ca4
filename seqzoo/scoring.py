"""Streaming VCF alleles through a model's window rule and the model, with full accounting.

Every ALT of every VCF record ends up either in at least one output row or in the skip report
with a reason; :class:`RunSummary` counts both and :meth:`RunSummary.check` proves
``alleles == scored_alleles + skipped``.

Skip reasons (whole allele): ``no_alt_allele``, ``spanning_deletion_alt``, ``symbolic_alt``,
``non_acgt_allele``, ``contig_not_in_fasta``, ``beyond_contig_end``, ``ref_mismatch``, plus the
window rule's own (Framepool: ``not_in_5utr``, ``crosses_utr_exon_boundary``,
``window_without_bases``). A feature-level skip (one transcript of a scored allele) is reported
with its ``feature_id`` and does not count as a skipped allele. With several models, a model that
had windows for an allele another model scored, and could score none of them, gets one skip row
with its ``model`` and an empty ``feature_id``; it is counted with the feature-level skips (the
allele is scored). A model whose features do not cover the allele at all (:data:`NO_FEATURE_REASONS`)
is silent for it.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .genome.fasta import Genome, GenomeError
from .genome.names import ContigNames
from .genome.vcf import VariantAllele, header_contig_lengths, iter_alleles
from .windows.base import NO_FEATURE_REASONS, FeatureSkip, WindowPair

log = logging.getLogger(__name__)

METADATA_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand")
SKIP_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "record", "model", "feature_id", "reason", "detail")


@dataclass(frozen=True)
class Skip:
    """An allele (``feature_id == ''``) or one feature of an allele that gives no row."""

    allele: VariantAllele
    reason: str
    detail: str
    feature_id: str = ""
    model: str = ""

    def as_row(self) -> dict:
        a = self.allele
        return {"variant_id": a.variant_id, "chrom": a.chrom, "pos": a.pos, "ref": a.ref, "alt": a.alt,
                "record": a.record, "model": self.model, "feature_id": self.feature_id, "reason": self.reason,
                "detail": self.detail}


@dataclass
class RunSummary:
    """Counts of one run. ``skipped`` counts whole alleles by reason."""

    records: int = 0
    alleles: int = 0
    rows: int = 0
    scored_alleles: int = 0
    skipped: Counter = field(default_factory=Counter)
    feature_skips: Counter = field(default_factory=Counter)
    unmatched_contigs: dict = field(default_factory=dict)
    #: per model: rows and alleles scored (several models in one run)
    model_rows: Counter = field(default_factory=Counter)
    model_scored_alleles: Counter = field(default_factory=Counter)
    #: records whose VCF ID an earlier record already had (their rows share a variant_id)
    duplicate_ids: int = 0
    duplicate_id_examples: list = field(default_factory=list)

    def count_record_id(self, vcf_id: str | None, seen: set, record: int, vcf_file) -> None:
        """Count ``vcf_id`` as a duplicate if ``seen`` has it (warning once per run), then add it."""
        if not vcf_id:
            return
        if vcf_id in seen:
            self.duplicate_ids += 1
            if len(self.duplicate_id_examples) < 5:
                self.duplicate_id_examples.append(vcf_id)
            if self.duplicate_ids == 1:
                log.warning("VCF file %s: record %d repeats the ID %r of an earlier record; both are kept (their "
                            "rows share the variant_id; chrom, pos, ref, alt and the skip report's record column "
                            "tell them apart). The summary counts such records under duplicate_ids.",
                            vcf_file, record, vcf_id)
        else:
            seen.add(vcf_id)

    @property
    def skipped_alleles(self) -> int:
        return sum(self.skipped.values())

    def check(self) -> None:
        if self.alleles != self.scored_alleles + self.skipped_alleles:
            raise AssertionError(f"accounting broken: alleles={self.alleles} != scored {self.scored_alleles} "
                                 f"+ skipped {self.skipped_alleles}")

    def line(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())) or "none"
        text = (f"records={self.records} alleles={self.alleles} rows={self.rows} "
                f"scored_alleles={self.scored_alleles} skipped={self.skipped_alleles} "
                f"(skipped by reason: {reasons})")
        if self.duplicate_ids:
            text += (f" duplicate_ids={self.duplicate_ids} (e.g. "
                     f"{', '.join(self.duplicate_id_examples[:3])})")
        if self.feature_skips:
            text += " feature_skips: " + ", ".join(f"{k}={v}" for k, v in sorted(self.feature_skips.items()))
        for source, names in sorted(self.unmatched_contigs.items()):
            if names:
                text += f" unmatched {source} contigs: {', '.join(sorted(names))}"
        return text

    def to_dict(self) -> dict:
        return {"records": self.records, "alleles": self.alleles, "rows": self.rows,
                "scored_alleles": self.scored_alleles, "skipped_alleles": self.skipped_alleles,
                "skipped_by_reason": dict(sorted(self.skipped.items())),
                "feature_skips_by_reason": dict(sorted(self.feature_skips.items())),
                "unmatched_contigs": {k: sorted(v) for k, v in self.unmatched_contigs.items() if v},
                "rows_by_model": dict(sorted(self.model_rows.items())),
                "scored_alleles_by_model": dict(sorted(self.model_scored_alleles.items())),
                "duplicate_ids": self.duplicate_ids, "duplicate_id_examples": list(self.duplicate_id_examples),
                "identity_holds": self.alleles == self.scored_alleles + self.skipped_alleles}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def restore(self, saved: dict) -> None:
        """Take over the counts of :meth:`to_dict` output (a resumed run's earlier part)."""
        self.records, self.alleles, self.rows = saved["records"], saved["alleles"], saved["rows"]
        self.scored_alleles = saved["scored_alleles"]
        self.skipped = Counter(saved["skipped_by_reason"])
        self.feature_skips = Counter(saved["feature_skips_by_reason"])
        self.model_rows = Counter(saved["rows_by_model"])
        self.model_scored_alleles = Counter(saved["scored_alleles_by_model"])
        self.duplicate_ids = saved["duplicate_ids"]
        self.duplicate_id_examples = list(saved["duplicate_id_examples"])
        for source, names in saved["unmatched_contigs"].items():
            self.unmatched_contigs.setdefault(source, set()).update(names)


_BASES = frozenset("ACGT")


class VariantWindows:
    """Opens FASTA and GTF once for one or several models' window rules and streams a VCF into
    window events.

    Iterating :meth:`events` yields :class:`WindowPair` (``model`` set) and :class:`Skip` objects
    in VCF order (per allele: models in the order given) and fills :attr:`summary`. An allele that
    no model can score gets one allele-level Skip; with several models its reason is the models'
    common reason, or ``no_window_in_any_model`` with every model's reason in the detail.
    ``rule_options`` go to the window rules that take them (Xpresso: ``halflife_file``). With
    ``leave_out_unusable`` (``--model all``) a model whose windows cannot be built from the inputs
    (a GTF without its features) is left out with a warning; :attr:`specs` are the models kept.
    """

    def __init__(self, specs, fasta_file, gtf_file, leave_out_unusable: bool = False, **rule_options):
        specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
        self.genome = Genome(fasta_file)
        self.names = ContigNames(self.genome.lengths)
        for option in rule_options:
            if not any(option in spec.rule_options for spec in specs):
                raise ValueError(f"option {option} applies to none of the models {[s.name for s in specs]}")
        self.rules = {}
        for spec in specs:
            options = {k: v for k, v in rule_options.items() if k in spec.rule_options}
            try:
                self.rules[spec.name] = spec.window_rule(self.genome, gtf_file, self.names, **options)
            except GenomeError as exc:  # e.g. a GTF without the features this model reads
                if not leave_out_unusable:
                    raise
                log.warning("--model all: leaving out %s: %s", spec.name, exc)
        if not self.rules:
            raise GenomeError("--model all: no model can build windows from these inputs; see the warnings above")
        self.specs = [spec for spec in specs if spec.name in self.rules]
        self.spec = self.specs[0]
        self.rule = self.rules[self.spec.name]
        self.summary = RunSummary(unmatched_contigs=self.names.unmatched)

    def _allele_problem(self, allele: VariantAllele) -> tuple[str | None, tuple[str, str] | None]:
        """(FASTA contig, None) for an allele that windows can be built for, else (None, (reason, detail))."""
        problem = allele.allele_problem()
        if problem:
            return None, problem
        chrom = self.names.resolve(allele.chrom, "VCF")
        if chrom is None:
            return None, ("contig_not_in_fasta",
                          f"contig {allele.chrom!r} matches no FASTA contig (chr prefix and chrM/MT tried)")
        length = self.genome.lengths[chrom]
        if allele.start < 0:
            return None, ("beyond_contig_end", f"POS {allele.pos}: REF starts before the first base of {chrom} "
                                               f"(POS 0 marks a telomere; nothing to apply)")
        if allele.end > length:
            return None, ("beyond_contig_end", f"REF spans {allele.pos}-{allele.pos + len(allele.ref) - 1} "
                                               f"(1-based) but {chrom} has length {length}")
        fasta_ref = self.genome.fetch(chrom, allele.start, allele.end)
        if fasta_ref != allele.ref:
            return None, ("ref_mismatch", f"VCF REF={allele.ref} FASTA={fasta_ref} at {chrom}:{allele.pos}")
        return chrom, None

    def _model_events(self, name: str, allele: VariantAllele, chrom: str) -> tuple[list, tuple[str, str] | None]:
        """(pairs + feature-level skips, None) or ([], (reason, detail)) when this model gives no row."""
        rule = self.rules[name]
        pairs, feature_skips = rule.windows(allele, chrom)
        events: list = []
        for pair in pairs:
            if _BASES.isdisjoint(pair.alt_seq) or _BASES.isdisjoint(pair.ref_seq):
                feature_skips.append(FeatureSkip(pair.feature_id, "window_without_bases",
                                                 "the ref or alt window has no A/C/G/T base"))
            else:
                events.append(dataclasses.replace(pair, model=name))
        if events:
            return events + [Skip(allele, fs.reason, fs.detail, fs.feature_id, name) for fs in feature_skips], None
        if feature_skips:  # one reason for the allele, naming every feature it failed in
            return [], (feature_skips[0].reason, "; ".join(f"{fs.feature_id}: {fs.detail}" for fs in feature_skips))
        return [], rule.no_feature_reason()

    def _allele_events(self, allele: VariantAllele) -> list:
        chrom, problem = self._allele_problem(allele)
        if problem:
            return [Skip(allele, *problem)]
        per_model = []
        for spec in self.specs:
            model_events, failure = self._model_events(spec.name, allele, chrom)
            per_model.append((spec.name, model_events, failure))
        if any(model_events for _, model_events, _ in per_model):
            events = []
            for name, model_events, failure in per_model:
                events += model_events
                if failure and failure[0] not in NO_FEATURE_REASONS:
                    # another model scored the allele; this one had windows for it and scored none
                    events.append(Skip(allele, *failure, model=name))
            return events
        failures = [(name, failure) for name, _, failure in per_model]
        if len(failures) == 1:
            return [Skip(allele, *failures[0][1], model=failures[0][0])]
        reasons = {reason for _, (reason, _) in failures}
        reason = reasons.pop() if len(reasons) == 1 else "no_window_in_any_model"
        return [Skip(allele, reason, "; ".join(f"{name}: {r} ({d})" for name, (r, d) in failures))]

    def _alleles(self, vcf_file, after_record: int = 0) -> Iterator[tuple[VariantAllele, list]]:
        """(allele, its events) in VCF order, from the first record numbered above ``after_record``
        (the IDs of the records before it are remembered, for the duplicate-ID count)."""
        self._vcf_file, self._seen_ids, self._last_record = vcf_file, set(), after_record
        self._check_assembly(vcf_file)
        for allele in iter_alleles(vcf_file):
            if allele.record > after_record:
                yield allele, self._allele_events(allele)
            elif allele.vcf_id:
                self._seen_ids.add(allele.vcf_id)

    def _check_assembly(self, vcf_file) -> None:
        """Warn once when the VCF header's contig lengths differ from the FASTA's (another assembly?)."""
        if not Path(vcf_file).is_file():
            return  # iter_alleles says so
        differ = []
        for name, length in header_contig_lengths(vcf_file).items():
            chrom = self.names.resolve(name, "VCF header", report=False)
            if chrom is not None and self.genome.lengths[chrom] != length:
                differ.append(f"{name} {length:,} vs FASTA {chrom} {self.genome.lengths[chrom]:,}")
        if differ:
            log.warning("VCF file %s declares contig lengths that differ from the FASTA's (%s%s): the VCF may be "
                        "on another assembly (e.g. GRCh37 vs GRCh38); its variants would then show up as "
                        "ref_mismatch skips", vcf_file, "; ".join(differ[:3]),
                        f"; and {len(differ) - 3} more" if len(differ) > 3 else "")

    def _count(self, allele: VariantAllele, events: list) -> None:
        s = self.summary
        if allele.record != self._last_record:
            s.records += 1
            self._last_record = allele.record
            s.count_record_id(allele.vcf_id, self._seen_ids, allele.record, self._vcf_file)
        s.alleles += 1
        scored_by = {ev.model for ev in events if isinstance(ev, WindowPair)}
        for ev in events:
            if isinstance(ev, WindowPair):
                s.rows += 1
                s.model_rows[ev.model] += 1
            elif ev.feature_id or scored_by:  # one feature, or one model of an allele others scored
                s.feature_skips[ev.reason] += 1
            else:
                s.skipped[ev.reason] += 1
        s.scored_alleles += bool(scored_by)
        for name in scored_by:
            s.model_scored_alleles[name] += 1

    def events(self, vcf_file) -> Iterator:
        """Every WindowPair and Skip of ``vcf_file`` in order; :attr:`summary` counts an allele
        before its events are yielded."""
        for allele, events in self._alleles(vcf_file):
            self._count(allele, events)
            yield from events

    def chunks(self, vcf_file, chunk_rows: int, after_record: int = 0) -> Iterator["Chunk"]:
        """The event stream cut into :class:`Chunk` objects at VCF record boundaries.

        A chunk closes at the first record boundary after it holds ``chunk_rows`` events (pairs
        plus skips), so every record's rows are in one chunk. Records numbered up to
        ``after_record`` are read but not windowed (``--resume``); :attr:`summary` must then
        already hold their counts (:meth:`RunSummary.restore`). Each chunk carries a copy of the
        summary covering exactly the records up to and including its last one.
        """
        pairs: list[WindowPair] = []
        skips: list[Skip] = []
        last: VariantAllele | None = None
        for allele, events in self._alleles(vcf_file, after_record):
            if last is not None and allele.record != last.record and len(pairs) + len(skips) >= chunk_rows:
                yield Chunk(pairs, skips, last.record, f"{last.chrom}:{last.pos}", self.summary.to_dict())
                pairs, skips = [], []
            self._count(allele, events)
            last = allele
            for ev in events:
                (pairs if isinstance(ev, WindowPair) else skips).append(ev)
        if pairs or skips:
            yield Chunk(pairs, skips, last.record, f"{last.chrom}:{last.pos}", self.summary.to_dict())


@dataclass
class Chunk:
    """Consecutive whole VCF records' events: ``pairs`` to score, ``skips`` to report.

    ``last_record``: the 1-based number of the last VCF record in the chunk, at ``last_record_at``
    (its ``chrom:pos`` as in the VCF); ``summary``: the run's :meth:`RunSummary.to_dict` after it.
    """

    pairs: list
    skips: list
    last_record: int
    last_record_at: str
    summary: dict


def metadata_row(pair: WindowPair, spec=None) -> dict:
    """The metadata columns of a row, plus the model's ``note_columns`` when ``spec`` is given."""
    a = pair.allele
    row = {"variant_id": a.variant_id, "chrom": a.chrom, "pos": a.pos, "ref": a.ref, "alt": a.alt,
           "feature_id": pair.feature_id, "gene_id": pair.gene_id, "strand": pair.strand}
    if spec is not None:
        notes = pair.notes or {}
        for col in spec.note_columns:
            row[col] = notes.get(col, "")
    return row


def metadata_columns(spec) -> list[str]:
    return list(METADATA_COLUMNS) + list(spec.note_columns)


def _inputs_key(inputs: dict | None) -> tuple:
    if not inputs:
        return ()
    return tuple((k, np.asarray(v).tobytes()) for k, v in sorted(inputs.items()))


def predict_unique(model, seqs: Sequence[str], batch_size: int = 64, inputs: Sequence[dict | None] | None = None,
                   **extra) -> dict[str, np.ndarray]:
    """``model.predict_sequences(seqs)``, predicting each distinct (sequence, inputs) once.

    ``inputs``: optional per-sequence dicts of extra model inputs (all with the same keys), passed
    to the model stacked along a first axis of length N.
    """
    inputs = list(inputs) if inputs is not None else [None] * len(seqs)
    uniq: dict[tuple, int] = {}
    first: list[int] = []
    idx = np.empty(len(seqs), dtype=np.int64)
    for i, (s, inp) in enumerate(zip(seqs, inputs)):
        key = (s, _inputs_key(inp))
        j = uniq.get(key)
        if j is None:
            j = uniq[key] = len(first)
            first.append(i)
        idx[i] = j
    per_seq = {}
    if first and inputs[first[0]]:
        per_seq = {k: np.stack([np.asarray(inputs[i][k]) for i in first]) for k in inputs[first[0]]}
    preds = model.predict_sequences([seqs[i] for i in first], batch_size=batch_size, **extra, **per_seq)
    return {k: v[idx] for k, v in preds.items()}


class PairScorer:
    """Scores batches of :class:`WindowPair` with one model, sharing reference predictions.

    Reference windows are predicted once per ``ref_key`` (kept in an LRU cache of
    ``ref_cache_size`` windows); alt windows once per distinct sequence in a batch.
    """

    def __init__(self, spec, model, batch_size: int = 64, ref_cache_size: int | None = None,
                 vectors: bool = False, **extra):
        self.spec = spec
        self.vectors = vectors  # also per-position outputs/effects (Parquet)
        self.model = model
        self.batch_size = batch_size
        self.extra = extra
        self._ref_cache: OrderedDict = OrderedDict()
        self.ref_cache_size = ref_cache_size if ref_cache_size is not None else getattr(spec, "ref_cache_size", 100_000)

    def predict_pairs(self, pairs: Sequence[WindowPair]) -> tuple[dict, dict]:
        """Ref and alt predictions for ``pairs``: two dicts of arrays with first axis len(pairs)."""
        keys = [(p.ref_key, p.ref_seq, _inputs_key(p.inputs)) for p in pairs]
        missing: OrderedDict = OrderedDict()
        for key, p in zip(keys, pairs):
            if key in self._ref_cache:
                self._ref_cache.move_to_end(key)
            elif key not in missing:
                missing[key] = p
        if missing:
            todo = list(missing.values())
            preds = predict_unique(self.model, [p.ref_seq for p in todo], self.batch_size,
                                   inputs=[p.inputs for p in todo], **self.extra)
            for i, key in enumerate(missing):
                self._ref_cache[key] = {k: v[i] for k, v in preds.items()}
        ref_rows = [self._ref_cache[key] for key in keys]
        while len(self._ref_cache) > self.ref_cache_size:
            self._ref_cache.popitem(last=False)
        ref = {k: np.stack([r[k] for r in ref_rows]) for k in ref_rows[0]} if ref_rows else {}
        alt = predict_unique(self.model, [p.alt_seq for p in pairs], self.batch_size,
                             inputs=[p.inputs for p in pairs], **self.extra)
        return ref, alt

    #: pairs predicted together in :meth:`score`: bounds the per-position outputs held at once
    #: (BPNet-OSKN: 64 KB per window and side), whatever the chunk size
    score_rows = 1024

    def score(self, pairs: Sequence[WindowPair]) -> list[dict]:
        """One output row per pair: metadata, ``ref_<output>``, ``alt_<output>`` and the effects."""
        rows: list[dict] = []
        for i in range(0, len(pairs), self.score_rows):
            rows += self._score(pairs[i:i + self.score_rows])
        return rows

    def _score(self, pairs: Sequence[WindowPair]) -> list[dict]:
        if not pairs:
            return []
        ref, alt = self.predict_pairs(pairs)
        effects = self.spec.effects(ref, alt)
        rows = []
        outputs = list(self.spec.outputs) + (list(self.spec.vector_outputs) if self.vectors else [])
        effect_names = list(self.spec.effect_names) + (list(self.spec.vector_effect_names) if self.vectors else [])
        for i, p in enumerate(pairs):
            row = metadata_row(p, self.spec)
            row["_record"] = p.allele.record  # not a column: for the VCF writer
            for k in outputs:
                row[f"ref_{k}"] = ref[k][i]
                row[f"alt_{k}"] = alt[k][i]
            for k in effect_names:
                row[k] = effects[k][i]
            rows.append(row)
        return rows

    def columns(self) -> list[str]:
        cols = metadata_columns(self.spec)
        for k in list(self.spec.outputs) + (list(self.spec.vector_outputs) if self.vectors else []):
            cols += [f"ref_{k}", f"alt_{k}"]
        cols += list(self.spec.effect_names)
        return cols + (list(self.spec.vector_effect_names) if self.vectors else [])


class ModelsScorer:
    """Scores window pairs of several models (one :class:`PairScorer` each) into rows in stream order.

    With one model the columns are :meth:`PairScorer.columns`; with several a ``model`` column
    comes first and the other columns are the union over models (empty where a model has none).
    """

    def __init__(self, scorers: dict[str, PairScorer]):
        self.scorers = scorers

    def columns(self) -> list[str]:
        if len(self.scorers) == 1:
            return next(iter(self.scorers.values())).columns()
        return _union(["model"], *(sc.columns() for sc in self.scorers.values()))

    def score(self, pairs: Sequence[WindowPair]) -> list[dict]:
        if len(self.scorers) == 1:
            return next(iter(self.scorers.values())).score(pairs)
        by_model: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            by_model.setdefault(p.model, []).append(i)
        rows: list = [None] * len(pairs)
        for name, idx in by_model.items():
            for i, row in zip(idx, self.scorers[name].score([pairs[i] for i in idx])):
                rows[i] = dict(row, model=name)
        return rows


def column_kinds(specs) -> tuple[set[str], set[str]]:
    """(string columns, per-position list columns) of the output of ``specs``, for typed writers."""
    strings = {"variant_id", "chrom", "ref", "alt", "feature_id", "gene_id", "strand", "model", "ref_seq", "alt_seq"}
    lists: set[str] = set()
    for spec in specs:
        strings |= set(spec.note_columns)
        lists |= {f"{side}_{k}" for k in spec.vector_outputs for side in ("ref", "alt")}
        lists |= set(spec.vector_effect_names)
    return strings, lists


def window_columns(specs) -> list[str]:
    """Columns of ``seqzoo windows`` output for one or several models."""
    if len(specs) == 1:
        return metadata_columns(specs[0]) + ["ref_seq", "alt_seq"]
    return _union(["model"], *(metadata_columns(s) for s in specs), ["ref_seq", "alt_seq"])


def window_row(pair: WindowPair, spec, with_model: bool) -> dict:
    row = dict(metadata_row(pair, spec), ref_seq=pair.ref_seq, alt_seq=pair.alt_seq)
    if with_model:
        row["model"] = pair.model
    return row


def _union(*column_lists) -> list[str]:
    out: list[str] = []
    for cols in column_lists:
        out += [c for c in cols if c not in out]
    return out

