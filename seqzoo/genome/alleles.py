"""Whether an allele can be applied to the reference at all (before any model's window rule)."""
from __future__ import annotations

from .fasta import Genome
from .names import ContigNames
from .vcf import VariantAllele


def check_allele(allele: VariantAllele, genome: Genome, names: ContigNames
                 ) -> tuple[str | None, tuple[str, str] | None]:
    """(FASTA contig, None) for an allele that windows can be built for, else (None, (reason, detail)).

    Reasons: the allele's own (:meth:`VariantAllele.allele_problem`: ``no_alt_allele``,
    ``spanning_deletion_alt``, ``symbolic_alt``, ``non_acgt_allele``), ``contig_not_in_fasta``,
    ``beyond_contig_end`` and ``ref_mismatch`` (REF is compared with the FASTA, upper case).
    """
    problem = allele.allele_problem()
    if problem:
        return None, problem
    chrom = names.resolve(allele.chrom, "VCF")
    if chrom is None:
        return None, ("contig_not_in_fasta", f"contig {allele.chrom!r} matches no FASTA contig "
                                             f"({names.tried(allele.chrom)})")
    length = genome.lengths[chrom]
    # the row's chrom column holds the VCF's name: where the FASTA's differs, details say which is which
    where = chrom if chrom == allele.chrom else f"FASTA contig {chrom} (the VCF's {allele.chrom})"
    if allele.start < 0:
        return None, ("beyond_contig_end", f"POS {allele.pos}: REF starts before the first base of {where}; "
                                           f"POS 0 marks a telomere, nothing to apply")
    if allele.end > length:
        return None, ("beyond_contig_end", f"REF spans {allele.pos}-{allele.pos + len(allele.ref) - 1} "
                                           f"(1-based) but {where} has length {length}")
    fasta_ref = genome.fetch(chrom, allele.start, allele.end)
    if fasta_ref != allele.ref:
        return None, ("ref_mismatch", f"VCF REF={allele.ref} FASTA={fasta_ref} at {allele.chrom}:{allele.pos}"
                                      + ("" if chrom == allele.chrom else f" (FASTA contig {chrom})"))
    return chrom, None
