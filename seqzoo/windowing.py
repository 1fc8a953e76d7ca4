"""From VCF alleles to model windows: every allele checked once, then offered to each model's window
rule, the models' outcomes combined (:func:`seqzoo.accounting.combine_models`) and counted.

The pieces are functions: :func:`build_rules` (each model's window rule from the FASTA, GTF and
options), :func:`seqzoo.genome.alleles.check_allele` (can the allele be applied at all),
:func:`model_outcome` (one model's windows for one allele), ``combine_models`` and
:meth:`RunSummary.count`. :class:`VariantWindows` strings them together over a VCF and cuts the
stream into :class:`Chunk` objects of whole records.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Iterator

from .accounting import AlleleResult, ModelOutcome, RunSummary, Skip, combine_models
from .errors import UsageError
from .genome.alleles import check_allele
from .genome.assembly import RefMismatchMonitor, warn_if_other_assembly
from .genome.fasta import Genome, GenomeError
from .genome.gtf import ContigMismatchError
from .genome.names import ContigNames
from .genome.vcf import VariantAllele, iter_alleles
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
                             f"{', '.join(spec.name for spec in specs)}")
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
            rows.append(dataclasses.replace(pair, model=spec.name))
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


class VariantWindows:
    """One or several models' windows for the alleles of a VCF, with the run's accounting.

    Opens the FASTA (contig names harmonised, through the UCSC chromAlias file ``chrom_alias`` when
    given: :class:`seqzoo.genome.names.ContigNames`) and builds each model's window rule once
    (:func:`build_rules`; ``rule_options`` such as Xpresso's ``halflife_file``, and
    ``leave_out_unusable`` for ``--model all``: :attr:`specs` are the models kept). Iterating
    :meth:`results` (or :meth:`events`, :meth:`chunks`) over a VCF counts every allele into
    :attr:`summary`; a new pass starts a fresh summary.
    """

    def __init__(self, specs, fasta_file, gtf_file, leave_out_unusable: bool = False, chrom_alias=None,
                 **rule_options):
        specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
        self.genome = Genome(fasta_file)
        self.gtf_file = gtf_file
        self.names = ContigNames(self.genome.lengths, aliases=chrom_alias, fasta=self.genome.path)
        self.rules = build_rules(specs, self.genome, gtf_file, self.names, rule_options, leave_out_unusable)
        self.specs = [spec for spec in specs if spec.name in self.rules]
        self.summary = RunSummary(unmatched_contigs=self.names.unmatched)

    @property
    def spec(self):
        return self.specs[0]

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
        for result in self._uncounted(vcf_file, after_record):
            self._count(result)
            yield result
        self._refs.finish(self.summary)

    def _uncounted(self, vcf_file, after_record: int) -> Iterator[AlleleResult]:
        if after_record == 0 and self.summary.alleles:  # a new pass: count afresh
            self.summary = RunSummary(unmatched_contigs=self.names.unmatched)
        warn_if_other_assembly(vcf_file, self.genome, self.names)
        self._vcf_file, self._refs = vcf_file, RefMismatchMonitor(vcf_file)
        for allele in iter_alleles(vcf_file):
            if allele.record > after_record:
                yield self.result(allele)
            elif allele.alt_index == 0:  # counted before the run stopped: remembered only
                self.summary.count_record_id(allele.vcf_id, allele.record, vcf_file, replay=True)

    def _count(self, result: AlleleResult) -> None:
        allele = result.allele
        if allele.alt_index == 0:
            self.summary.count_record_id(allele.vcf_id, allele.record, self._vcf_file)
        self._refs.add(result, self.summary)
        self.summary.count(result)

    def events(self, vcf_file) -> Iterator:
        """Every WindowPair and Skip of ``vcf_file`` in order (per allele: rows, then skips)."""
        for result in self.results(vcf_file):
            yield from result.rows
            yield from result.skips

    def chunks(self, vcf_file, chunk_rows: int, after_record: int = 0) -> Iterator[Chunk]:
        """The results cut into :class:`Chunk` objects at VCF record boundaries.

        A chunk closes at the first record boundary after it holds ``chunk_rows`` events (pairs
        plus skips), so every record's rows are in one chunk. Each chunk carries a copy of the
        summary covering exactly the records up to and including its last one.
        """
        if chunk_rows < 1:
            raise UsageError(f"--chunk-rows must be >= 1, not {chunk_rows}")
        pairs: list[WindowPair] = []
        skips: list[Skip] = []
        last: VariantAllele | None = None
        for result in self._uncounted(vcf_file, after_record):
            allele = result.allele
            if last is not None and allele.alt_index == 0 and len(pairs) + len(skips) >= chunk_rows:
                yield Chunk(pairs, skips, last.record, f"{last.chrom}:{last.pos}", self.summary.to_dict())
                pairs, skips = [], []
            self._count(result)
            pairs += result.rows
            skips += result.skips
            last = allele
        if pairs or skips:
            yield Chunk(pairs, skips, last.record, f"{last.chrom}:{last.pos}", self.summary.to_dict())
        self._refs.finish(self.summary)
