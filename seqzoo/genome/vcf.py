"""Reading VCF records (plain or bgzipped) with cyvcf2, one :class:`VariantAllele` per ALT."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .fasta import BGZF_EOF, GenomeError

_ACGT = frozenset("ACGT")


def is_symbolic(alt: str) -> bool:
    """A symbolic (``<DEL>``) or breakend (``G]chr1:200]``) ALT: no sequence to apply."""
    return alt.startswith("<") or "[" in alt or "]" in alt


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
        if is_symbolic(alt):
            return "symbolic_alt", f"symbolic or breakend ALT {alt!r} cannot be applied to a sequence"
        if not set(self.ref) <= _ACGT:
            return "non_acgt_allele", f"REF {self.ref!r} contains a base other than A/C/G/T"
        if not set(alt) <= _ACGT:
            return "non_acgt_allele", f"ALT {alt!r} contains a base other than A/C/G/T"
        return None


def check_compressed(path: Path) -> None:
    """Refuse a truncated gzip/bgzip file before htslib reads it (htslib can crash on one).

    A bgzip file must end with the BGZF EOF block; a plain-gzip file is decompressed once to
    check that it is whole.
    """
    import gzip
    import zlib

    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - len(BGZF_EOF)))
        if fh.read() == BGZF_EOF:
            return
    try:
        with gzip.open(path, "rb") as gz:
            while gz.read(1 << 22):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        raise GenomeError(f"VCF file {path} is a truncated or corrupt gzip file ({exc}). Re-download or "
                          f"re-create it (`bgzip` it again from the plain VCF).") from exc


def header_lines(path: str | os.PathLike) -> list[str]:
    """The '#' lines at the top of a (plain or gzipped) VCF, without line ends."""
    import gzip

    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    lines = []
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
        for line in fh:
            if not line.startswith(b"#"):
                break
            lines.append(line.decode(errors="replace").rstrip("\r\n"))
    return lines


_CONTIG_LINE = re.compile(r"^##contig=<(.*)>$")
_ID = re.compile(r"(?:^|,)ID=([^,>]+)")
_LENGTH = re.compile(r"(?:^|,)length=(\d+)")


def header_contig_lengths(path: str | os.PathLike) -> dict[str, int]:
    """{contig: length} from the VCF header's ``##contig=<ID=..,length=..>`` lines (those with a
    length); {} when the header cannot be read (:func:`iter_alleles` then says why)."""
    import zlib

    try:
        lines = header_lines(path)
    except (OSError, EOFError, zlib.error):
        return {}
    out = {}
    for line in lines:
        m = _CONTIG_LINE.match(line)
        if m:
            cid, length = _ID.search(m.group(1)), _LENGTH.search(m.group(1))
            if cid and length:
                out[cid.group(1)] = int(length.group(1))
    return out


def iter_alleles(path: str | os.PathLike) -> Iterator[VariantAllele]:
    """Yield every ALT of every record in file order; a record with ALT '.' yields one allele '.'.

    Alleles are upper-cased (symbolic and breakend ALTs are kept as written). Raises GenomeError for
    an unreadable file.
    """
    from cyvcf2 import VCF

    path = Path(path)
    if not path.is_file():
        raise GenomeError(f"VCF file {path} does not exist")
    check_compressed(path)
    try:
        reader = VCF(str(path), lazy=True)
    except Exception as exc:  # cyvcf2 raises a bare Exception for a header it cannot parse
        raise GenomeError(f"Cannot read VCF file {path}: {exc}. Is it a VCF (plain or bgzipped) with a "
                          f"'#CHROM POS ID REF ALT QUAL FILTER INFO' header line?") from exc
    n_header = len(header_lines(path))
    def malformed(record_no: int, what: str) -> GenomeError:
        return GenomeError(f"VCF file {path}, record {record_no} (line {n_header + record_no}{what}): malformed "
                           f"record, expected 8+ tab-separated columns (CHROM POS ID REF ALT QUAL FILTER INFO). "
                           f"Is the file truncated?")

    records = iter(reader)
    record_no = 0
    try:
        while True:
            try:
                rec = next(records)
            except StopIteration:
                break
            except Exception as exc:  # cyvcf2 raises a bare Exception when htslib cannot parse a line
                raise malformed(record_no + 1, f": {exc}") from exc
            record_no += 1
            if rec.end <= rec.start:  # htslib could not parse the line (reading its REF would crash)
                raise malformed(record_no, f", contig {rec.CHROM!r}")
            ref = rec.REF.upper()
            alts = rec.ALT or ["."]
            for i, alt in enumerate(alts):
                yield VariantAllele(rec.CHROM, rec.POS, ref, alt if is_symbolic(alt) else alt.upper(), rec.ID,
                                    record_no, i)
    finally:
        reader.close()
