"""Every allele accounted for: skip rows, the rules that combine several models' outcomes for one
allele, and the run's counts.

Every ALT of every VCF record ends up either in at least one output row or in the skip report with
a reason; :class:`RunSummary` counts both and :meth:`RunSummary.check` proves
``alleles == scored_alleles + skipped``.

Skip reasons (whole allele): ``no_alt_allele``, ``spanning_deletion_alt``, ``symbolic_alt``,
``non_acgt_allele``, ``contig_not_in_fasta``, ``beyond_contig_end``, ``ref_mismatch``, plus each
model's own (its window rule's feature skips, e.g. Framepool ``crosses_utr_exon_boundary``,
``window_past_contig_end``, ``window_without_bases``, and its spec's ``no_feature`` reason, e.g.
``not_in_5utr``). A feature-level skip (one feature of a scored allele) is reported with its
``feature_id`` and does not count as a skipped allele. With several models (:func:`combine_models`),
a model that had windows for an allele another model scored, and could score none of them, gets
one skip row with its ``model`` and an empty ``feature_id``, counted with the feature-level skips
(the allele is scored); a model whose features do not cover the allele at all is silent for it; an
allele no model scores gets one skip row whose reason is the models' common reason, or
``no_window_in_any_model`` with every model's reason in the detail. The same function combines the
models of a single run and the per-model parts that ``seqzoo merge`` puts together.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .genome.vcf import VariantAllele
from .table import Column

log = logging.getLogger("seqzoo.scoring")

SKIP_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "record", "alt_index", "model", "feature_id", "reason",
                "detail")
#: the skip report's column kinds
SKIP_SCHEMA = [Column(c, "int" if c in ("pos", "record", "alt_index") else "str") for c in SKIP_COLUMNS]


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
                "record": a.record, "alt_index": a.alt_index, "model": self.model, "feature_id": self.feature_id,
                "reason": self.reason, "detail": self.detail}


@dataclass
class ModelOutcome:
    """What one model makes of one allele.

    ``rows``: its output for the allele (WindowPairs in a run, part rows in ``seqzoo merge``);
    ``feature_skips``: :class:`Skip` rows of features it could not score; ``failure``: (reason,
    detail) when it gives no row; ``covered``: whether any of its features holds the allele (an
    uncovered allele is not a failure of the model, and is silent when other models score it).
    """

    model: str
    rows: list
    feature_skips: list
    failure: tuple[str, str] | None
    covered: bool


@dataclass
class AlleleResult:
    """An allele's rows (all models, in model order) and skip rows; ``scored_by``: (model, number of
    rows) of the models with rows."""

    allele: VariantAllele
    rows: list
    skips: list
    scored_by: tuple[tuple[str, int], ...]


def combine_models(allele: VariantAllele, outcomes: Sequence[ModelOutcome],
                   problem: tuple[str, str] | None = None) -> AlleleResult:
    """The rows and skip rows of ``allele`` from each model's outcome (see the module docstring).

    ``problem``: (reason, detail) when the allele itself cannot be applied (REF mismatch, symbolic
    ALT, unknown contig, ...): one skip row without a model, whatever the models say.
    """
    if problem is not None:
        return AlleleResult(allele, [], [Skip(allele, *problem)], ())
    scored_by = tuple((o.model, len(o.rows)) for o in outcomes if o.rows)
    if scored_by:
        rows, skips = [], []
        for o in outcomes:
            rows += o.rows
            if o.rows:
                skips += o.feature_skips
            elif o.failure is not None and o.covered:  # it had windows for the allele and scored none
                skips.append(Skip(allele, *o.failure, model=o.model))
        return AlleleResult(allele, rows, skips, scored_by)
    if len(outcomes) == 1:
        o = outcomes[0]
        return AlleleResult(allele, [], [Skip(allele, *o.failure, model=o.model)], ())
    reasons = {o.failure[0] for o in outcomes}
    reason = reasons.pop() if len(reasons) == 1 else "no_window_in_any_model"
    detail = "; ".join(f"{o.model}: {o.failure[0]} ({o.failure[1]})" for o in outcomes)
    return AlleleResult(allele, [], [Skip(allele, reason, detail)], ())


class DuplicateIds:
    """Records whose VCF ID an earlier record had, in bounded memory (a 32 MiB Bloom filter).

    Every duplicate is caught, however far apart the two records are. A record with a new ID is
    counted as a duplicate by mistake with a probability that grows with the number of distinct
    IDs seen (2^28 bits, 7 hashes): :attr:`expected_false` estimates how many of the counted
    duplicates are such false positives (< 0.3 up to 5,000,000 distinct IDs, ~40 at 10,000,000;
    the warning and the examples name real IDs to check).
    """

    BITS = 1 << 28
    HASHES = 7

    def __init__(self):
        self._bits = bytearray(self.BITS // 8)
        self._distinct = 0  # IDs added (an upper bound on the distinct IDs)
        self.expected_false = 0.0

    def _positions(self, vcf_id: str) -> list[int]:
        digest = hashlib.blake2b(vcf_id.encode(), digest_size=16).digest()
        h1, h2 = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        return [(h1 + i * h2) % self.BITS for i in range(self.HASHES)]

    def seen(self, vcf_id: str, estimate: bool = True) -> bool:
        """Whether an earlier call had ``vcf_id`` (see the class docstring); then remembers it.
        ``estimate=False``: a hit does not add to :attr:`expected_false` (a resumed run replaying
        records whose duplicates were counted before)."""
        bits = self._bits
        positions = self._positions(vcf_id)
        if all(bits[p >> 3] >> (p & 7) & 1 for p in positions):
            if estimate:
                fill = 1.0 - math.exp(-self.HASHES * self._distinct / self.BITS)
                self.expected_false += fill ** self.HASHES
            return True
        for p in positions:
            bits[p >> 3] |= 1 << (p & 7)
        self._distinct += 1
        return False


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
    #: records whose VCF ID an earlier record already had (see :class:`DuplicateIds`)
    duplicate_ids: int = 0
    duplicate_id_examples: list = field(default_factory=list)
    #: REF checks against the FASTA and how many failed (a wrong assembly shows here)
    ref_checked: int = 0
    ref_mismatches: int = 0
    _ids: DuplicateIds | None = field(default=None, repr=False, compare=False)

    def count_record_id(self, vcf_id: str | None, record: int, vcf_file, replay: bool = False) -> None:
        """Count record ``record``'s ID ``vcf_id`` as a duplicate if an earlier record had it (a
        warning names the first). ``replay``: only remember the ID (records a resumed run counted
        before it stopped)."""
        if not vcf_id:
            return
        if self._ids is None:
            self._ids = DuplicateIds()
        if replay:
            self._ids.seen(vcf_id, estimate=False)
            return
        if self._ids.seen(vcf_id):
            self.duplicate_ids += 1
            if len(self.duplicate_id_examples) < 5:
                self.duplicate_id_examples.append(vcf_id)
            if self.duplicate_ids == 1:
                log.warning("VCF file %s: record %d repeats the ID %r of an earlier record; both are kept (rows "
                            "carry the record number). The summary counts such records under duplicate_ids.",
                            vcf_file, record, vcf_id)

    def count(self, result: AlleleResult) -> None:
        """Count one allele's result (call once per allele, in VCF order)."""
        if result.allele.alt_index == 0:
            self.records += 1
        self.alleles += 1
        self.rows += len(result.rows)
        for skip in result.skips:
            if skip.feature_id or result.scored_by:  # one feature, or one model of an allele others scored
                self.feature_skips[skip.reason] += 1
            else:
                self.skipped[skip.reason] += 1
        if result.scored_by:
            self.scored_alleles += 1
            for name, n in result.scored_by:
                self.model_rows[name] += n
                self.model_scored_alleles[name] += 1

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
                "duplicate_ids_expected_false": round(self._ids.expected_false, 3) if self._ids else 0.0,
                "ref_checked": self.ref_checked, "ref_mismatches": self.ref_mismatches,
                "identity_holds": self.alleles == self.scored_alleles + self.skipped_alleles}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, saved: dict) -> "RunSummary":
        summary = cls()
        summary.restore(saved)
        return summary

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
        self.ref_checked, self.ref_mismatches = saved.get("ref_checked", 0), saved.get("ref_mismatches", 0)
        if saved.get("duplicate_ids_expected_false"):
            self._ids = self._ids or DuplicateIds()
            self._ids.expected_false = saved["duplicate_ids_expected_false"]
        for source, names in saved["unmatched_contigs"].items():
            self.unmatched_contigs.setdefault(source, set()).update(names)
