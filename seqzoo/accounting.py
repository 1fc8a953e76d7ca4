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

import json
import logging
import mmap
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

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
    #: no model's features hold the allele (its one skip row is not a failure: OUT.outside.tsv)
    outside: bool = False
    #: (duplicate?, expected false share) of the record's ID, on its first allele (the stream sets it)
    duplicate: tuple | None = None


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
    outside = not any(o.covered for o in outcomes)
    if len(outcomes) == 1:
        o = outcomes[0]
        return AlleleResult(allele, [], [Skip(allele, *o.failure, model=o.model)], (), outside)
    reason, detail = combined_failure([(o.model, o.failure) for o in outcomes])
    return AlleleResult(allele, [], [Skip(allele, reason, detail)], (), outside)


def combined_failure(failures: Sequence[tuple[str, tuple[str, str]]]) -> tuple[str, str]:
    """The one skip reason of an allele no model scores: the models' common reason, or
    ``no_window_in_any_model``; the detail names every model's reason."""
    reasons = {failure[0] for _, failure in failures}
    reason = reasons.pop() if len(reasons) == 1 else "no_window_in_any_model"
    return reason, "; ".join(f"{model}: {r} ({d})" for model, (r, d) in failures)


class DuplicateIds:
    """Records whose VCF ID an earlier record had, in bounded memory (a 32 MiB Bloom filter).

    Every duplicate is caught, however far apart the two records are. A record with a new ID is
    counted as a duplicate by mistake with a probability that grows with the number of distinct
    IDs seen (2^28 bits, 7 hashes): :attr:`expected_false` estimates how many of the counted
    duplicates are such false positives (< 0.3 up to 5,000,000 distinct IDs, ~40 at 10,000,000;
    the warning and the examples name real IDs to check).

    IDs are processed a block of records at a time (:meth:`flags`, vectorised): within a block
    duplicates are found exactly, against earlier blocks through the filter. Blocks are the VCF's
    record blocks (:func:`seqzoo.genome.vcf.iter_record_blocks`), the same for a single run, a
    resumed run and ``seqzoo merge``, so every one of them counts the same duplicates.
    """

    BITS = 1 << 28
    HASHES = 7

    def __init__(self):
        self._bits = zeroed_bytes(self.BITS // 8)
        self._distinct = 0  # IDs added (an upper bound on the distinct IDs)

    def flags(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """(duplicate?, expected false-positive share of that flag) for each ID of a block, in order
        (None = no ID); remembers the block's IDs."""
        ids = list(ids)
        dup = np.zeros(len(ids), dtype=bool)
        false = np.zeros(len(ids), dtype=np.float64)
        values = [x for x in ids if x is not None]
        if not values:
            return dup, false
        # the positions of the IDs (all of them in the usual block, where every record has one)
        where = slice(None) if len(values) == len(ids) else np.flatnonzero([x is not None for x in ids])
        h = id_hashes(values)
        # within the block, exactly: an equal hash earlier in the block, confirmed by the strings
        _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        earlier = first[inverse.reshape(-1)]
        within = earlier != np.arange(len(values))
        for k in np.flatnonzero(within).tolist():
            within[k] = values[k] == values[earlier[k]]
        h1, h2 = h & np.uint64(0xFFFFFFFF), (h >> np.uint64(32)) | np.uint64(1)  # two hashes from one
        with np.errstate(over="ignore"):
            pos = (h1[:, None] + np.arange(self.HASHES, dtype=np.uint64)[None, :] * h2[:, None]) & np.uint64(self.BITS - 1)
        byte, bit = (pos >> np.uint64(3)).astype(np.int64), (pos & np.uint64(7)).astype(np.uint8)
        seen = ((self._bits[byte] >> bit) & 1).all(axis=1)
        new = ~seen & ~within
        fill = 1.0 - np.exp(-self.HASHES * (self._distinct + np.cumsum(new) - new) / self.BITS)
        false[where] = np.where(seen & ~within, fill ** self.HASHES, 0.0)
        dup[where] = seen | within
        if new.any():  # set the new IDs' bits; a fancy-index |= keeps one write per byte: repeat for the rest
            b, m = byte[new].ravel(), (np.uint8(1) << bit[new]).ravel()
            while len(b):
                self._bits[b] |= m
                lost = (self._bits[b] & m) == 0
                b, m = b[lost], m[lost]
        self._distinct += int(new.sum())
        return dup, false


def zeroed_bytes(size: int) -> np.ndarray:
    """(size,) uint8 zeros for random access all over (the Bloom filter's bits): on Linux in
    transparent huge pages where the system offers them on request (2 MiB pages: a random access
    rarely misses the TLB; DuplicateIds.flags ~17% faster), else ``np.zeros``."""
    huge = 2 << 20
    if not hasattr(mmap, "MADV_HUGEPAGE") or size % huge:
        return np.zeros(size, dtype=np.uint8)
    try:
        pages = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # zero-filled
        pages.madvise(mmap.MADV_HUGEPAGE)
    except (OSError, ValueError, AttributeError):
        return np.zeros(size, dtype=np.uint8)
    return np.frombuffer(pages, dtype=np.uint8)  # keeps the mapping alive while the array lives


_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
#: IDs up to this many characters are hashed as fixed-width arrays of code points (one numpy pass
#: per 2 characters); a block with a longer ID is hashed ID by ID
_WIDE = 64


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place (uint64, wrapping)."""
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


def id_hashes(values: list) -> np.ndarray:
    """(n,) uint64 hashes of strings, the same in every process and on every platform: the Unicode
    code points, two per 64-bit word (little-endian), folded word by word (xor, multiply,
    xor-shift) and finished with splitmix64's mixer. (Strings equal up to trailing NUL characters
    hash alike.)"""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.uint64)
    points = np.array(values, dtype=str)
    width = max(1, points.dtype.itemsize // 4)
    if width > _WIDE and n > 1:  # one wide ID would make the whole array wide: those one by one
        wide = np.fromiter((len(v) > _WIDE for v in values), dtype=bool, count=n)
        out = np.empty(n, dtype=np.uint64)
        out[~wide] = id_hashes([v for v, w in zip(values, wide.tolist()) if not w])
        out[wide] = [int(id_hashes([v])[0]) for v, w in zip(values, wide.tolist()) if w]
        return out
    even = width + width % 2
    if points.dtype != np.dtype(f"<U{even}"):
        points = points.astype(f"<U{even}")
    words = points.view("<u8").reshape(n, even // 2)
    h = np.full(n, _GOLDEN, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):  # a word of padding (NUL code points) leaves h as it is
            w = words[:, j]
            step = (h ^ w) * _GOLDEN
            step ^= step >> np.uint64(29)
            h = np.where(w != 0, step, h) if j else step
        return _mix(h)


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
    expected_false_duplicates: float = 0.0
    #: REF checks against the FASTA and how many failed (a wrong assembly shows here)
    ref_checked: int = 0
    ref_mismatches: int = 0
    #: alleles outside every model's features (part of ``skipped``; OUT.outside.tsv lists them)
    outside_alleles: int = 0

    def count_duplicates(self, dup: np.ndarray, false: np.ndarray, ids, records, vcf_file) -> None:
        """Count records flagged by :meth:`DuplicateIds.flags` (a warning names the first)."""
        n = int(np.count_nonzero(dup))
        if not n:
            return
        self.duplicate_ids += n
        self.expected_false_duplicates += float(false.sum())
        first = np.flatnonzero(dup)
        if len(self.duplicate_id_examples) < 5:
            self.duplicate_id_examples += [ids[i] for i in first[:5 - len(self.duplicate_id_examples)]]
        if self.duplicate_ids == n:
            log.warning("VCF file %s: record %d repeats the ID %r of an earlier record; both are kept (rows "
                        "carry the record number). The summary counts such records under duplicate_ids.",
                        vcf_file, records[first[0]], ids[first[0]])

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
        self.outside_alleles += result.outside
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

    def line(self, outside_runs: bool = False) -> str:
        """The run's counts in one line; ``outside_runs``: the alleles outside every window were
        written as runs to an ``.outside.tsv`` (``seqzoo score``'s default, ``seqzoo merge``), which it
        then says."""
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.skipped.items())) or "none"
        outside = (f"; {self.outside_alleles} of them outside every window, listed as runs in the .outside.tsv, "
                   f"the others in the .skipped.tsv" if self.outside_alleles and outside_runs else "")
        text = (f"records={self.records} alleles={self.alleles} rows={self.rows} "
                f"scored_alleles={self.scored_alleles} skipped={self.skipped_alleles} "
                f"(skipped by reason: {reasons}{outside})")
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
                "duplicate_ids_expected_false": round(self.expected_false_duplicates, 3),
                "outside_alleles": self.outside_alleles,
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
        self.expected_false_duplicates = saved.get("duplicate_ids_expected_false", 0.0)
        self.outside_alleles = saved.get("outside_alleles", 0)
        for source, names in saved["unmatched_contigs"].items():
            self.unmatched_contigs.setdefault(source, set()).update(names)
