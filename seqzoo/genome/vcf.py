"""Reading VCF records (plain or bgzipped) with cyvcf2, one :class:`VariantAllele` per ALT."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .fasta import GenomeError

_ACGT = frozenset("ACGT")


@dataclass(frozen=True)
class VariantAllele:
    """One ALT allele of one VCF record.

    ``pos`` is the VCF's 1-based POS; :attr:`start` / :attr:`end` give REF's 0-based half-open span
    on the forward strand. ``record`` is the 1-based index of the record among the VCF's records
    and ``alt_index`` the 0-based index of this ALT in the record's ALT list.
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    vcf_id: str | None
    record: int
    alt_index: int

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def end(self) -> int:
        return self.pos - 1 + len(self.ref)

    @property
    def variant_id(self) -> str:
        """The VCF ID, or ``chrom:pos:ref>alt`` when the ID is '.'."""
        return self.vcf_id if self.vcf_id else f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}"

    def allele_problem(self) -> tuple[str, str] | None:
        """(reason, detail) if this allele cannot be applied to a sequence, else None."""
        alt = self.alt
        if alt in (".", ""):
            return "no_alt_allele", "the record has no ALT allele ('.')"
        if alt == "*":
            return "spanning_deletion_alt", "ALT '*' (allele missing due to an upstream deletion)"
        if alt.startswith("<") or "[" in alt or "]" in alt:
            return "symbolic_alt", f"symbolic or breakend ALT {alt!r} cannot be applied to a sequence"
        if not set(self.ref) <= _ACGT:
            return "non_acgt_allele", f"REF {self.ref!r} contains a base other than A/C/G/T"
        if not set(alt) <= _ACGT:
            return "non_acgt_allele", f"ALT {alt!r} contains a base other than A/C/G/T"
        return None


def iter_alleles(path: str | os.PathLike) -> Iterator[VariantAllele]:
    """Yield every ALT of every record in file order; a record with ALT '.' yields one allele '.'.

    Alleles are upper-cased. Raises GenomeError for an unreadable file.
    """
    from cyvcf2 import VCF

    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"VCF file {path} does not exist")
    try:
        reader = VCF(str(path), lazy=True)
    except (OSError, IOError) as exc:
        raise GenomeError(f"Cannot read VCF file {path}: {exc}. Is it a VCF (plain or bgzipped)?") from exc
    try:
        for record_no, rec in enumerate(reader, start=1):
            ref = rec.REF.upper()
            alts = rec.ALT or ["."]
            for i, alt in enumerate(alts):
                yield VariantAllele(rec.CHROM, rec.POS, ref, alt.upper() if not alt.startswith("<") else alt,
                                    rec.ID, record_no, i)
    finally:
        reader.close()
