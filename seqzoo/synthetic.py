"""Small synthetic genomes, GTFs and VCFs for tests, examples and benchmarks (no downloads).

All positions taken by these helpers are 1-based, as written in GTF and VCF files.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np


def random_sequence(rng: np.random.Generator, length: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=length))


def write_fasta(path: str | os.PathLike, contigs: dict[str, str], line_width: int = 60) -> Path:
    path = Path(path)
    with open(path, "w") as fh:
        for name, seq in contigs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), line_width):
                fh.write(seq[i:i + line_width] + "\n")
    return path


def gtf_line(chrom: str, feature: str, start: int, end: int, strand: str, transcript_id: str | None,
             gene_id: str, source: str = "synthetic", extra: str = "") -> str:
    """One GTF line, 1-based closed [start, end]; ``transcript_id=None`` (a gene line) leaves the
    attribute out."""
    tid = "" if transcript_id is None else f' transcript_id "{transcript_id}";'
    attrs = f'gene_id "{gene_id}";{tid}{extra}'
    return "\t".join([chrom, source, feature, str(start), str(end), ".", strand, ".", attrs])


def other_base(base: str, k: int = 0) -> str:
    """The k-th (0..2) of the three bases other than ``base``, in ACGT order."""
    return [b for b in "ACGT" if b != base][k]


class RandomVariants:
    """VCF records (chrom, pos, id, ref, alt) of random variants on one contig sequence ``seq``
    (1-based ``pos``), drawing from ``rng``: the example generators' SNVs, insertions, deletions."""

    def __init__(self, seq: str, rng: np.random.Generator, chrom: str = "1"):
        self.seq, self.rng, self.chrom = seq, rng, chrom

    def ref(self, pos: int, n: int = 1) -> str:
        """``n`` bases from 1-based ``pos``."""
        return self.seq[pos - 1:pos - 1 + n]

    def snv(self, pos: int, vid=None) -> tuple:
        return (self.chrom, pos, vid, self.ref(pos), other_base(self.ref(pos), int(self.rng.integers(3))))

    def insertion(self, pos: int, vid=None) -> tuple:
        """1-5 random bases inserted after ``pos``."""
        inserted = random_sequence(self.rng, int(self.rng.integers(1, 6)))
        return (self.chrom, pos, vid, self.ref(pos), self.ref(pos) + inserted)

    def deletion(self, pos: int, vid=None, n: int | None = None) -> tuple:
        """The ``n - 1`` bases after ``pos`` deleted (``n`` random in 2..6 by default)."""
        n = n or int(self.rng.integers(2, 7))
        return (self.chrom, pos, vid, self.ref(pos, n), self.ref(pos))


def write_gtf(path: str | os.PathLike, lines: Iterable[str]) -> Path:
    path = Path(path)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as fh:
        fh.write("#!genome-build synthetic\n")
        for line in lines:
            fh.write(line + "\n")
    return path


def write_vcf(path: str | os.PathLike, records: Sequence[tuple], contigs: dict[str, int] | None = None,
              bgzip: bool = False) -> Path:
    """Write records (chrom, pos, id, ref, alt) — alt may be 'A,T' — as a minimal VCF 4.2.

    With ``bgzip`` the file is block-gzipped (readable by htslib/cyvcf2) at ``path``.
    """
    path = Path(path)
    header = ["##fileformat=VCFv4.2"]
    for name, length in (contigs or {}).items():
        header.append(f"##contig=<ID={name},length={length}>")
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    body = [f"{c}\t{p}\t{i or '.'}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in records]
    text = "\n".join(header + body) + "\n"
    if bgzip:
        import pysam
        tmp = path.with_name(path.name + ".plain")
        tmp.write_text(text)
        pysam.tabix_compress(str(tmp), str(path), force=True)
        tmp.unlink()
    else:
        path.write_text(text)
    return path


def make_utr_dataset(out_dir: str | os.PathLike, seed: int = 0, n_contigs: int = 2, contig_length: int = 30_000,
                     n_genes: int = 24, variants_per_utr: int = 8, vcf_chr_prefix: bool = True,
                     extra_records: bool = True) -> dict[str, Path]:
    """A random genome with 5'UTR-annotated transcripts on both strands and a VCF of variants.

    FASTA contigs are named ``1``, ``2``, ...; the VCF uses ``chr1``, ... when ``vcf_chr_prefix``
    (exercising name harmonisation). Genes have 1-3 5'UTR exons and 1-2 transcripts (the second
    sharing the first's 5'UTR exons but its own CDS). Variants are SNVs, insertions and deletions
    inside 5'UTR exons; with ``extra_records`` the VCF also holds a multi-allelic record, a REF
    mismatch, an intergenic variant, a boundary-crossing deletion, a symbolic ALT and an unknown
    contig. Returns the paths {"fasta", "gtf", "vcf"}.
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    contigs = {str(i + 1): random_sequence(rng, contig_length) for i in range(n_contigs)}
    lines, records, utr_exons = [], [], []
    slot = contig_length // (n_genes // n_contigs + 1)
    for g in range(n_genes):
        chrom = str(g % n_contigs + 1)
        base = 200 + (g // n_contigs) * slot
        strand = "+" if g % 2 == 0 else "-"
        n_exons = 1 + g % 3
        exons, pos = [], base
        for _ in range(n_exons):
            length = int(rng.integers(20, 90))
            exons.append((pos, pos + length - 1))
            pos += length + int(rng.integers(60, 200))
        cds = (pos, pos + 300)
        if strand == "-":  # mirror: 5'UTR exons lie right of the CDS
            span_end = cds[1]
            exons = [(base + span_end - e, base + span_end - s) for s, e in exons]
            cds = (base + span_end - cds[1], base + span_end - cds[0])
        gene_id = f"G{g:03d}"
        for t in range(1 + (g % 4 == 0)):
            tid = f"T{g:03d}.{t + 1}"
            for s, e in sorted(exons):
                lines.append(gtf_line(chrom, "five_prime_utr", s, e, strand, tid, gene_id))
            c = cds if t == 0 else ((cds[0], cds[1] - 30) if strand == "+" else (cds[0] + 30, cds[1]))
            lines.append(gtf_line(chrom, "CDS", c[0], c[1], strand, tid, gene_id))
        utr_exons += [(chrom, s, e) for s, e in exons]
    vcf_name = (lambda c: "chr" + c) if vcf_chr_prefix else (lambda c: c)
    for chrom, s, e in utr_exons:
        seq = contigs[chrom]
        for _ in range(variants_per_utr):
            p = int(rng.integers(s, e - 3))  # 1-based, leaves room for a 3-nt deletion
            ref_base = seq[p - 1]
            kind = rng.integers(3)
            if kind == 0:
                alt = str(rng.choice([b for b in "ACGT" if b != ref_base]))
                records.append((chrom, p, None, ref_base, alt))
            elif kind == 1:
                records.append((chrom, p, None, ref_base, ref_base + random_sequence(rng, int(rng.integers(1, 4)))))
            else:
                k = int(rng.integers(1, 4))
                records.append((chrom, p, None, seq[p - 1:p + k], ref_base))
    if extra_records:
        chrom, s, e = utr_exons[0]
        seq = contigs[chrom]
        p = s + 5
        others = [b for b in "ACGT" if b != seq[p - 1]]
        records.append((chrom, p, "multi", seq[p - 1], f"{others[0]},{others[1]}"))
        records.append((chrom, p + 1, "mismatch", others[0] if seq[p] != others[0] else others[1], "A"))
        records.append((chrom, contig_length - 50, "intergenic", seq[contig_length - 51], "T" if seq[contig_length - 51] != "T" else "G"))
        records.append((chrom, e - 1, "crossing", seq[e - 2:e + 3], seq[e - 2]))
        records.append((chrom, p + 2, "symbolic", seq[p + 1], "<DEL>"))
        records.append(("chrUn_unknown", 100, "unknown_contig", "A", "G"))
    order = {c: i for i, c in enumerate(contigs)}
    records.sort(key=lambda r: (order.get(r[0], len(order)), r[1]))
    records = [(vcf_name(c) if c in contigs else c, p, i, r, a) for c, p, i, r, a in records]
    paths = {
        "fasta": write_fasta(out_dir / "genome.fa", contigs),
        "gtf": write_gtf(out_dir / "annotation.gtf", lines),
        "vcf": write_vcf(out_dir / "variants.vcf", records,
                         {vcf_name(c): len(s) for c, s in contigs.items()}),
    }
    return paths


def make_gene_model_dataset(out_dir: str | os.PathLike, seed: int = 0, n_genes: int = 4,
                            contig_length: int = 60_000, variants_per_site: int = 3) -> dict[str, Path]:
    """A genome whose genes carry every feature the models read, and variants at every kind of site.

    Each gene (alternating strands, ~12 kb apart) has ``gene``, ``transcript``, three ``exon``,
    ``five_prime_utr`` and ``CDS`` lines, so Framepool (5'UTR), APARENT2 (3' end), Xpresso (TSS)
    and HAL (donors) all have windows. Variants (SNVs and small indels) are drawn around each TSS,
    5'UTR, donor and 3' end, plus one intergenic SNV far from every gene. Contig ``1`` in the
    FASTA, ``chr1`` in the VCF. Returns {"fasta", "gtf", "vcf"}.
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seq = random_sequence(rng, contig_length)
    lines, sites = [], []
    for g in range(n_genes):
        strand = "+" if g % 2 == 0 else "-"
        left = 11_000 + g * 12_000
        # exon lengths/introns in genomic order; 5'UTR = first 60 nt of the 5'-most exon
        exons = [(left, left + 199), (left + 600, left + 799), (left + 1200, left + 1599)]
        tid, gid = f"TX{g}", f"GENE{g}"
        lines.append(gtf_line("1", "gene", left, left + 1599, strand, tid, gid))
        lines.append(gtf_line("1", "transcript", left, left + 1599, strand, tid, gid))
        for s, e in exons:
            lines.append(gtf_line("1", "exon", s, e, strand, tid, gid))
        if strand == "+":
            utr, cds = (left, left + 59), (left + 60, left + 1399)
            tss, tx_end = left, left + 1599
            donors = [exons[0][1], exons[1][1]]
        else:
            utr, cds = (left + 1540, left + 1599), (left + 200, left + 1539)
            tss, tx_end = left + 1599, left
            donors = [exons[2][0], exons[1][0]]
        lines.append(gtf_line("1", "five_prime_utr", utr[0], utr[1], strand, tid, gid))
        lines.append(gtf_line("1", "CDS", cds[0], cds[1], strand, tid, gid))
        sites += [tss, (utr[0] + utr[1]) // 2, tx_end] + donors
    records = []
    for site in sites:
        for _ in range(variants_per_site):
            p = int(site + rng.integers(-40, 40))
            base = seq[p - 1]
            kind = int(rng.integers(3))
            if kind == 0:
                records.append(("1", p, None, base, str(rng.choice([b for b in "ACGT" if b != base]))))
            elif kind == 1:
                records.append(("1", p, None, base, base + random_sequence(rng, int(rng.integers(1, 4)))))
            else:
                records.append(("1", p, None, seq[p - 1:p + 2], base))
    records.append(("1", 3_000, "intergenic", seq[2999], "A" if seq[2999] != "A" else "C"))
    records.sort(key=lambda r: r[1])
    records = [("chr" + c, p, i, r, a) for c, p, i, r, a in records]
    return {"fasta": write_fasta(out_dir / "genome.fa", {"1": seq}),
            "gtf": write_gtf(out_dir / "annotation.gtf", lines),
            "vcf": write_vcf(out_dir / "variants.vcf", records, {"chr1": contig_length})}
