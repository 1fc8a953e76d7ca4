"""Noticing a VCF of another assembly or naming convention than the FASTA, which would otherwise look
like a run that "works": from the VCF header's contigs (none a FASTA contig: an error before any
record is read; other lengths: a warning), and at the end of a run from its skips (REF mismatches
above a plausible rate, alleles past a contig's end, no allele on a FASTA contig: warnings)."""
from __future__ import annotations

import logging
from pathlib import Path

from .fasta import Genome
from .gtf import ContigMismatchError
from .names import ContigNames, some_names
from .vcf import header_contigs

log = logging.getLogger("seqzoo.scoring")

#: allele skip reasons decided before REF is compared with the FASTA
BEFORE_REF_CHECK = frozenset({"no_alt_allele", "spanning_deletion_alt", "symbolic_alt", "non_acgt_allele",
                              "contig_not_in_fasta", "beyond_contig_end"})
#: REF checks needed before a mismatch rate is judged, and the rate judged implausible for one assembly
MIN_CHECKED = 20
IMPLAUSIBLE_RATE = 0.10


def check_vcf_contigs(vcf_file, names: ContigNames) -> None:
    """:class:`~seqzoo.genome.gtf.ContigMismatchError` when the VCF header declares contigs
    (``##contig`` lines) and none is a FASTA contig: its records could only be skipped as
    contig_not_in_fasta (called before any output is opened)."""
    if not Path(vcf_file).is_file():
        return  # reading the VCF says so
    declared = list(header_contigs(vcf_file))
    if declared and not any(names.resolve(name, "VCF header", report=False) for name in declared):
        fasta = f"FASTA file {names.fasta}" if names.fasta else "the FASTA"
        raise ContigMismatchError(
            f"VCF file {vcf_file}: none of the contigs its header declares matches a contig of {fasta} (VCF: "
            f"{some_names(declared)}; FASTA: {some_names(names.fasta_order)}; {names.rules_tried()}), so no "
            f"variant could be scored. The VCF is for another assembly or names contigs another way: give "
            f"--chrom-alias FILE (a UCSC chromAlias file mapping its names onto the FASTA's), or the FASTA the VCF "
            f"was called on.")


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
    At the end (:meth:`finish`) it also warns about alleles past a contig's end and about a VCF none
    of whose alleles is on a FASTA contig (one without ``##contig`` lines: see
    :func:`check_vcf_contigs`)."""

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
        where alleles lie past the end of their contig or none is on a FASTA contig."""
        self.judge(summary)
        past = summary.skipped.get("beyond_contig_end", 0)
        if past:
            log.warning("VCF file %s: %d allele%s lie%s past the end of %s FASTA contig (skipped as "
                        "beyond_contig_end). A VCF called on the FASTA's assembly has none: the VCF and the FASTA "
                        "are probably different assemblies (e.g. GRCh37 vs GRCh38). Use the FASTA the VCF was "
                        "called on, or lift the VCF over.", self.vcf_file, past, "" if past == 1 else "s",
                        "s" if past == 1 else "", "its" if past == 1 else "their")
        unmatched = summary.skipped.get("contig_not_in_fasta", 0)
        if unmatched and not summary.ref_checked and not past:  # no allele was placed on the FASTA
            contigs = sorted(summary.unmatched_contigs.get("VCF", ()))
            log.warning("VCF file %s: no allele is on a FASTA contig (%d on contigs the FASTA lacks: %s), so nothing "
                        "was scored. The VCF is for another assembly or names contigs another way: give --chrom-alias "
                        "FILE (a UCSC chromAlias file mapping its names onto the FASTA's), or the FASTA the VCF was "
                        "called on.", self.vcf_file, unmatched, some_names(contigs) or "see the skip report")

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
