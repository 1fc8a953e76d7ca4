"""Noticing a VCF of another assembly or naming convention than the FASTA, which would otherwise look
like a run that "works": from the VCF header's contigs (none a FASTA contig, nor the first record's:
an error before any output is opened; other lengths: a warning), and from the run's skips (REF
mismatches above a plausible rate, alleles outside their contig: warnings)."""
from __future__ import annotations

import logging
from pathlib import Path

from .fasta import Genome
from .names import ALIAS_FIX, ContigMismatchError, ContigNames, some_names
from .vcf import first_record_contig, header_contigs

log = logging.getLogger("seqzoo.scoring")

#: allele skip reasons decided before REF is compared with the FASTA
BEFORE_REF_CHECK = frozenset({"no_alt_allele", "spanning_deletion_alt", "symbolic_alt", "non_acgt_allele",
                              "contig_not_in_fasta", "beyond_contig_end"})
#: REF checks needed before a mismatch rate is judged, and the rate judged implausible for one assembly
MIN_CHECKED = 20
IMPLAUSIBLE_RATE = 0.10


def check_vcf_contigs(vcf_file, names: ContigNames) -> None:
    """:class:`~seqzoo.genome.names.ContigMismatchError` when the VCF header declares contigs
    (``##contig`` lines), none is a FASTA contig and neither is the first record's (a header written
    another way than the records is let through): its records could only be skipped as
    contig_not_in_fasta. Called before any output is opened (an unreadable VCF declares nothing:
    reading it says why)."""
    declared = list(header_contigs(vcf_file))
    if not declared or any(names.resolve(name, "VCF header", report=False) for name in declared):
        return
    first = first_record_contig(vcf_file)
    if first is None or names.resolve(first, "VCF", report=False) is None:
        raise ContigMismatchError(
            f"VCF file {vcf_file}: none of the contigs its header declares matches a contig of {names.fasta_label()}"
            f" (VCF header: {some_names(declared)}; its first record: {first or 'none'}; FASTA: "
            f"{some_names(names.fasta_order)}; {names.rules_tried()}), so no variant could be scored. The VCF is for "
            f"another assembly or names contigs another way: {ALIAS_FIX}, or the FASTA the VCF was called on.")


def warn_if_other_assembly(vcf_file, genome: Genome, names: ContigNames) -> None:
    """Warn once when the VCF header's contig lengths differ from the FASTA's (another assembly?)."""
    if not Path(vcf_file).is_file():
        return  # reading the VCF says so
    differ = []
    for name, length in header_contigs(vcf_file).items():
        chrom = names.resolve(name, "VCF header", report=False)
        if chrom is not None and length is not None and genome.lengths[chrom] != length:
            differ.append(f"{name} {length:,} vs FASTA {chrom} {genome.lengths[chrom]:,}")
    if differ:
        log.warning("VCF file %s declares contig lengths that differ from the FASTA's (%s%s): the VCF may be "
                    "on another assembly (e.g. GRCh37 vs GRCh38); its variants would then show up as "
                    "ref_mismatch skips", vcf_file, "; ".join(differ[:3]),
                    f"; and {len(differ) - 3} more" if len(differ) > 3 else "")


class RefMismatchMonitor:
    """Counts REF checks and mismatches into the run summary and warns, once, when the mismatch rate
    is implausible for a VCF on the FASTA's assembly (> 10% of at least 20 checked alleles): a
    matching VCF has (almost) none, a VCF of another assembly with the same contig names mostly.
    At the end (:meth:`finish`) it also warns about alleles outside their contig."""

    def __init__(self, vcf_file):
        self.vcf_file = vcf_file
        self.warned = False

    def add(self, result, summary) -> None:
        allele_skip = next((s for s in result.skips if not s.model and not s.feature_id), None)
        if allele_skip is not None and allele_skip.reason in BEFORE_REF_CHECK:
            return
        summary.ref_checked += 1
        if allele_skip is not None and allele_skip.reason == "ref_mismatch":
            summary.ref_mismatches += 1
            if summary.ref_checked >= 10 * MIN_CHECKED:
                self.judge(summary)

    def finish(self, summary) -> None:
        """The end of a run (or of a shard): the mismatch rate judged on every check, and a warning
        where alleles lie outside their contig."""
        self.judge(summary)
        outside = summary.skipped.get("beyond_contig_end", 0)
        if outside:
            log.warning("VCF file %s: %d allele%s outside %s FASTA contig, skipped as beyond_contig_end (the skip "
                        "report gives each position). A VCF called on the FASTA's assembly has none past a contig's "
                        "end (POS 0, a telomere, is another matter): if the skip report shows such positions, the "
                        "VCF and the FASTA are probably different assemblies (e.g. GRCh37 vs GRCh38); use the FASTA "
                        "the VCF was called on, or lift the VCF over.", self.vcf_file, outside,
                        " is" if outside == 1 else "s are", "its" if outside == 1 else "their")

    def judge(self, summary) -> None:
        checked, bad = summary.ref_checked, summary.ref_mismatches
        if self.warned or checked < MIN_CHECKED or bad <= IMPLAUSIBLE_RATE * checked:
            return
        self.warned = True
        log.warning("VCF file %s: %d of %d alleles (%.0f%%) so far have a REF that differs from the FASTA. A VCF "
                    "called on the FASTA's assembly has almost none: the VCF and the FASTA are probably different "
                    "assemblies (e.g. GRCh37 vs GRCh38, or another species' build), and those alleles are skipped "
                    "as ref_mismatch. Use the FASTA the VCF was called on, or lift the VCF over.",
                    self.vcf_file, bad, checked, 100.0 * bad / checked)
