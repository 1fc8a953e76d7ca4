"""The bundled example (``examples/``): one small genome on which every model gives rows.

    python scripts/make_example.py [OUT_DIR]        # default: examples/ (the committed files)

Writes ``genome.fa`` (contig ``1``, 60 kb, random), ``annotation.gtf`` (four genes on alternating
strands, each with ``gene``, ``transcript``, three ``exon``, ``five_prime_utr`` and ``CDS`` lines:
Framepool reads the 5'UTRs, APARENT2 the transcript 3' ends, Xpresso the gene TSSs, HAL the exon
donors; BPNet-OSKN needs no annotation), ``variants.vcf`` (contig ``chr1``: SNVs and small indels
around every TSS, 5'UTR, donor and 3' end, one intergenic SNV, and one record of each kind seqzoo
skips: a REF mismatch, a symbolic ALT, a multi-allelic record with a ``*`` allele, and a contig the
FASTA lacks), ``halflife.tsv`` (Xpresso's six half-life features for two of the genes) and
``regions.bed`` (three regions for ``seqzoo predict --model BPNet-OSKN``). About 70 KB in all.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqzoo.synthetic import make_gene_model_dataset, other_base  # noqa: E402

SEED = 7


def make_example(out_dir: str | Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    paths = make_gene_model_dataset(out_dir, seed=SEED, n_genes=4, variants_per_site=2)
    seq = "".join(line.strip() for line in paths["fasta"].read_text().splitlines()[1:])
    vcf = paths["vcf"]
    lines = vcf.read_text().splitlines()
    header, body = [x for x in lines if x.startswith("#")], [x for x in lines if not x.startswith("#")]
    b = lambda pos: seq[pos - 1]  # noqa: E731  (1-based)
    extra = [f"chr1\t20150\tmismatch\t{other_base(b(20150))}\t{b(20150)}\t.\t.\t.",
             f"chr1\t20300\tsymbolic\t{b(20300)}\t<DEL>\t.\t.\t.",
             f"chr1\t35040\tmultiallelic\t{b(35040)}\t{other_base(b(35040), 0)},{other_base(b(35040), 1)},*\t.\t.\t.",
             "chrUn\t100\tunknown_contig\tA\tG\t.\t.\t."]
    records = sorted(body + extra[:3], key=lambda x: int(x.split("\t")[1])) + extra[3:]
    header.insert(-1, "##contig=<ID=chrUn,length=1000>")
    vcf.write_text("\n".join(header + records) + "\n")
    rng = np.random.default_rng(SEED)
    halflife = out_dir / "halflife.tsv"
    rows = ["gene_id\thl_1\thl_2\thl_3\thl_4\thl_5\thl_6"]
    rows += [f"GENE{g}\t" + "\t".join(f"{x:.3f}" for x in rng.normal(size=6)) for g in (0, 1)]
    halflife.write_text("\n".join(rows) + "\n")
    bed = out_dir / "regions.bed"
    bed.write_text("chr1\t11000\t11400\tpromoter_0\nchr1\t23000\t24000\tgene_1\nchr1\t59800\t59990\tcontig_end\n")
    return dict(paths, halflife=halflife, bed=bed)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples"
    for name, path in make_example(out).items():
        print(f"{name}: {path} ({path.stat().st_size:,} bytes)")
