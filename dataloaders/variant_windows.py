"""A Kipoi dataloader over VCF variants, built on the scoring API (:func:`seqzoo.api.setup_run`).

One sample per (VCF record x ALT x feature) that the model's window rule can score::

    {"inputs": {"ref": <ref window, str>, "alt": <alt window, str>},
     "metadata": {"variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand"}}

``pos`` is the VCF's 1-based POS (int), ``chrom`` the VCF's contig name; the other metadata are
strings (see :func:`seqzoo.scoring.metadata_row`). Windows are variable-length strings: Kipoi's
``numpy_collate`` turns a batch of them into a numpy unicode array (``dtype '<U<longest>'``), so
no padding or one-hot encoding happens here; the model class encodes them.

Every allele that gives no sample (and every skipped feature of a scored allele) goes to the skip
report ``skip_report`` (columns :data:`seqzoo.scoring.SKIP_COLUMNS`; ``.tsv``, ``.tsv.gz`` or
``.parquet``), written in chunks while iterating and closed when the iteration ends. At the end
the accounting line (:meth:`seqzoo.scoring.RunSummary.line`) is logged and
``alleles == scored_alleles + skipped`` is checked.

A model directory subclasses :class:`VariantWindowsDataLoader` and sets ``model_name`` to a name
of :mod:`seqzoo.registry`; the arguments here must match that directory's ``dataloader.yaml``.
"""
from __future__ import annotations

import logging
import os

from kipoi.data import SampleIterator

from seqzoo import api, registry
from seqzoo.accounting import SKIP_SCHEMA
from seqzoo.output_paths import check_outputs
from seqzoo.outputs import TableWriter, table_format
from seqzoo.scoring import metadata_row
from seqzoo.table import Table

# Under the ``kipoi`` logger namespace on purpose: the ``kipoi`` command line silences every other
# logger below CRITICAL (kipoi/logging.conf), and the accounting line must reach the user there.
log = logging.getLogger("kipoi." + __name__)

#: VCF records windowed (and skip rows written) at a time
CHUNK_ROWS = 1024


class VariantWindowsDataLoader(SampleIterator):
    """Kipoi ``SampleIterator`` yielding the ref/alt windows of every scorable VCF allele.

    Args:
      fasta_file: reference genome FASTA (a missing ``.fai`` is built next to it).
      gtf_file: annotation GTF (plain or gzipped).
      vcf_file: variants VCF (plain or bgzipped).
      skip_report: optional path of the skip report (``.tsv``, ``.tsv.gz`` or ``.parquet``).

    Paths are made absolute when the dataloader is created, so a later change of the working
    directory (``kipoi test`` iterates inside the model directory) does not move them.
    Iterating again after a pass has ended (completed, failed or stopped by :meth:`close`) starts a new
    pass (a fresh summary, the skip report rewritten).
    """

    #: name of the model in :mod:`seqzoo.registry`; set by subclasses
    model_name: str | None = None

    def __init__(self, fasta_file, gtf_file, vcf_file, skip_report=None):
        self._init(fasta_file, gtf_file, vcf_file, skip_report, {})

    def _init(self, fasta_file, gtf_file, vcf_file, skip_report, rule_options: dict):
        """The constructor's work; a subclass whose model takes window-rule options (Xpresso's
        ``halflife_file``) defines ``__init__`` with them (Kipoi matches its arguments to
        ``dataloader.yaml``) and calls this with ``rule_options``."""
        if not self.model_name:
            raise TypeError(f"{type(self).__name__} must set the class attribute `model_name` "
                            f"(one of: {', '.join(sorted(registry.MODELS))})")
        self.spec = registry.get(self.model_name)
        self.vcf_file = os.path.abspath(os.fspath(vcf_file))
        if not os.path.isfile(self.vcf_file):
            raise FileNotFoundError(f"VCF file {self.vcf_file} does not exist")
        self.skip_report = None
        if skip_report is not None:
            self.skip_report = os.path.abspath(os.fspath(skip_report))
            table_format(self.skip_report)  # ValueError now for an unsupported suffix, not after the run
        unknown = set(rule_options) - set(self.spec.rule_options)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown argument(s) {sorted(unknown)}")
        if gtf_file is None and self.spec.needs_gtf:
            raise TypeError(f"{type(self).__name__}: model {self.spec.name} needs gtf_file")
        fasta_file = os.path.abspath(os.fspath(fasta_file))
        gtf_file = os.path.abspath(os.fspath(gtf_file)) if gtf_file is not None else None
        # the run's windows, as `seqzoo windows` builds them (paths made absolute there too)
        self.setup = api.setup_run(self.spec, fasta_file, self.vcf_file, gtf_file, score=False, **rule_options)
        if self.skip_report is not None:  # never write over an input
            check_outputs({"skip_report": self.skip_report},
                          {"vcf_file": self.vcf_file, "fasta_file": fasta_file, "gtf_file": gtf_file,
                           **self.setup.options})
        self._samples = None
        self._finished = False

    # -- kipoi.data.SampleIterator --------------------------------------------------------------
    def __iter__(self):
        if self._samples is None or self._finished:
            self._finished = False
            self._samples = self._generate()
        return self

    def __next__(self):
        if self._samples is None:
            self.__iter__()
        return next(self._samples)

    next = __next__

    # -- the pass ------------------------------------------------------------------------------
    @property
    def summary(self):
        """Counts of the current (or last) pass (:class:`seqzoo.accounting.RunSummary`); complete
        once the iteration has ended."""
        return self.setup.summary

    def _generate(self):
        writer = TableWriter(self.skip_report, SKIP_SCHEMA) if self.skip_report else None
        try:
            for chunk in self.setup.window_chunks(self.vcf_file, CHUNK_ROWS):
                if writer is not None:
                    writer.write(Table.from_rows([s.as_row() for s in chunk.skips], SKIP_SCHEMA))
                for pair in chunk.pairs:
                    yield {"inputs": {"ref": pair.ref_seq, "alt": pair.alt_seq, **(pair.inputs or {})},
                           "metadata": metadata_row(pair, self.spec)}
        finally:
            # also when the consumer stops early or fails: whatever was seen is written and closed
            self._finished = True
            if writer is not None:
                writer.close()
        summary = self.summary
        summary.check()
        where = f"; skip report: {self.skip_report}" if self.skip_report else ""
        log.info("%s dataloader: %s%s", self.spec.name, summary.line(), where)
        if summary.rows == 0:
            log.warning("%s dataloader: no allele of %s gives a row (all skipped%s); `kipoi predict` "
                        "writes no output file for zero rows", self.spec.name, self.vcf_file, where)

    def close(self) -> None:
        """Stop a pass that is under way (its skip report is written and closed)."""
        if self._samples is not None:
            self._samples.close()
            self._finished = True
