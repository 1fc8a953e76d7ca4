"""Reading a GFF3 annotation (Ensembl or GENCODE) as the lines the GTF readers take.

GFF3 (the Sequence Ontology's GFF3 specification) links features by ``ID`` and ``Parent`` instead
of repeating ``gene_id`` / ``transcript_id`` on every line. :func:`iter_gff3` yields what
:func:`seqzoo.genome.gtf.iter_gtf` yields for a GTF — (line number, 9 fields, attributes) with the
GTF's feature types and ``transcript_id`` / ``gene_id`` / ``gene_name`` attributes — so every
reader builds the same transcripts, genes, exons and 5'UTRs from either format:

* a transcript is a feature that is the ``Parent`` of an exon, CDS, UTR or codon, or has a
  transcript type (mRNA, transcript, lnc_RNA, ncRNA, ...); it becomes a ``transcript`` line, its
  ``transcript_id`` the attribute of that name or else its ``ID`` without a ``transcript:`` prefix
  (Ensembl: ``ID=transcript:ENST...``, GENCODE: ``ID=ENST...;transcript_id=ENST...``);
* a gene is the ``Parent`` of a transcript, or a feature of a gene type (gene, ncRNA_gene,
  pseudogene); it becomes a ``gene`` line, its ``gene_id`` the attribute of that name or else its
  ``ID`` without a ``gene:`` prefix, its ``gene_name`` that attribute or else its ``Name``;
* ``five_prime_UTR`` / ``three_prime_UTR`` become ``five_prime_utr`` / ``three_prime_utr``
  (Ensembl's GTF names); exon, CDS and the other parts keep their type. A part whose ``Parent``
  lists several transcripts is yielded once for each, with that transcript's attributes.

Coordinates are those of the file (1-based closed), as in a GTF: the GTF readers convert them.
Attribute values are URL-unescaped (``%3B`` -> ``;``). Lines after a ``##FASTA`` directive are not
read. A part without ``Parent``, or whose ``Parent`` is no feature's ``ID``, is a GenomeError
naming the file and line.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple
from urllib.parse import unquote

from .fasta import GenomeError
from .textfile import open_text

#: GFF3 feature types renamed to the GTF's
GTF_TYPE = {"five_prime_UTR": "five_prime_utr", "three_prime_UTR": "three_prime_utr"}
#: parts of a transcript: their Parent is a transcript
PART_TYPES = frozenset({"exon", "CDS", "five_prime_UTR", "three_prime_UTR", "five_prime_utr", "three_prime_utr",
                        "UTR", "5UTR", "3UTR", "start_codon", "stop_codon", "stop_codon_redefined_as_selenocysteine",
                        "Selenocysteine", "intron"})
#: transcripts even without parts (Ensembl and GENCODE transcript types)
TRANSCRIPT_TYPES = frozenset({
    "mRNA", "transcript", "lnc_RNA", "lncRNA", "ncRNA", "miRNA", "snRNA", "snoRNA", "rRNA", "tRNA", "scRNA",
    "scaRNA", "misc_RNA", "Y_RNA", "vault_RNA", "piRNA", "pseudogenic_transcript", "unconfirmed_transcript",
    "primary_transcript", "NMD_transcript_variant", "processed_transcript", "C_gene_segment", "D_gene_segment",
    "J_gene_segment", "V_gene_segment"})
#: genes even without transcripts
GENE_TYPES = frozenset({"gene", "ncRNA_gene", "pseudogene", "protein_coding_gene"})


def parse_attributes(text: str, path: Path, line_no: int) -> dict[str, list[str]]:
    """``key=value1,value2;key2=...`` -> {key: [values]} (URL-unescaped); '.' is none."""
    out: dict[str, list[str]] = {}
    if text.strip() in ("", "."):
        return out
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise GenomeError(f"GFF3 file {path}, line {line_no}: attribute {part!r} is not key=value")
        out[_unescape(key.strip())] = [_unescape(v) for v in value.split(",")]
    return out


def _unescape(text: str) -> str:
    return unquote(text) if "%" in text else text


_PARENT = re.compile(r"(?:^|;)\s*Parent=([^;]*)")


def _parents(text: str) -> list[str]:
    """The ``Parent`` values of an attribute column (what a part needs, without parsing the rest)."""
    m = _PARENT.search(text)
    return [_unescape(v) for v in m.group(1).split(",") if v] if m else []


class _Feature(NamedTuple):
    type: str
    parents: tuple[str, ...]
    id_attrs: dict  # transcript_id / gene_id / gene_name / Name, where given


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, 9 fields) of every feature line."""
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if line.startswith("##FASTA"):
                return
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n\r").split("\t")
            if len(fields) != 9:
                raise GenomeError(f"GFF3 file {path}, line {line_no}: expected 9 tab-separated columns, found "
                                  f"{len(fields)}")
            yield line_no, fields


def _strip(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


class _Hierarchy(NamedTuple):
    features: dict  # ID -> _Feature, for every feature that is not a part
    transcripts: frozenset
    genes: frozenset


@functools.lru_cache(maxsize=2)
def _hierarchy(path: str, size: int, mtime_ns: int) -> _Hierarchy:
    """The first pass: transcripts and genes by ``ID`` (parts are not kept). Once per file version:
    the readers of several models share it."""
    features: dict[str, _Feature] = {}
    part_parents: set[str] = set()
    for line_no, fields in _records(Path(path)):
        if fields[2] in PART_TYPES:
            part_parents.update(_parents(fields[8]))
            continue
        attrs = parse_attributes(fields[8], path, line_no)
        if "ID" in attrs and attrs["ID"][0] not in features:
            keep = {k: attrs[k][0] for k in ("transcript_id", "gene_id", "gene_name", "Name") if k in attrs}
            features[attrs["ID"][0]] = _Feature(fields[2], tuple(attrs.get("Parent", ())), keep)
    transcripts = {i for i, f in features.items() if i in part_parents or f.type in TRANSCRIPT_TYPES}
    genes = {p for t in transcripts for p in features[t].parents if p in features}
    genes |= {i for i, f in features.items() if f.type in GENE_TYPES}
    return _Hierarchy(features, frozenset(transcripts), frozenset(genes))


def iter_gff3(path: Path, feature_types: Iterable[str]) -> Iterator[tuple[int, list[str], dict]]:
    """Yield (line number, 9 fields, GTF-style attributes) for the features whose GTF type is wanted.

    Two passes over the file: the first collects transcripts and genes by ``ID``, the second yields.
    """
    wanted = set(feature_types)
    st = path.stat()
    features, transcripts, genes = _hierarchy(str(path), st.st_size, st.st_mtime_ns)

    def gene_attrs(gene: str) -> dict:
        f = features[gene]
        out = {"gene_id": f.id_attrs.get("gene_id", _strip(gene, "gene:"))}
        name = f.id_attrs.get("gene_name", f.id_attrs.get("Name"))
        if name is not None:
            out["gene_name"] = name
        return out

    tx_cache: dict[str, dict] = {}

    def transcript_attrs(tx: str) -> dict:
        if tx not in tx_cache:
            f = features[tx]
            gene = next((p for p in f.parents if p in genes), None)
            out = {"transcript_id": f.id_attrs.get("transcript_id", _strip(tx, "transcript:"))}
            if gene is not None:
                out.update(gene_attrs(gene))
            else:  # a transcript without a gene: its own gene attributes, if any
                out.update({k: f.id_attrs[k] for k in ("gene_id", "gene_name") if k in f.id_attrs})
            tx_cache[tx] = out
        return tx_cache[tx]

    levels = wanted & {"gene", "transcript"}
    for line_no, fields in _records(path):
        kind = fields[2]
        if kind in PART_TYPES:
            gtf_type = GTF_TYPE.get(kind, kind)
            if gtf_type not in wanted:
                continue
            parents = _parents(fields[8])
            if not parents:
                raise GenomeError(f"GFF3 file {path}, line {line_no}: {kind} feature without a Parent attribute "
                                  f"naming its transcript")
            for parent in parents:
                if parent not in features:
                    raise GenomeError(f"GFF3 file {path}, line {line_no}: the Parent {parent!r} of this {kind} is "
                                      f"not the ID of any feature in the file")
                yield line_no, fields[:2] + [gtf_type] + fields[3:], transcript_attrs(parent)
            continue
        if not levels or "ID=" not in fields[8]:
            continue
        fid = parse_attributes(fields[8], path, line_no).get("ID", [None])[0]
        if fid in genes and "gene" in wanted:
            yield line_no, fields[:2] + ["gene"] + fields[3:], gene_attrs(fid)
        if fid in transcripts and "transcript" in wanted:
            yield line_no, fields[:2] + ["transcript"] + fields[3:], transcript_attrs(fid)
