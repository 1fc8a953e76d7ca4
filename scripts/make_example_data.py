"""Regenerate the bundled example (examples/genome.fa, annotation.gtf, variants.vcf).

Everything is synthetic (random sequence, seed 0): see seqzoo.synthetic.make_utr_dataset.
Usage: python scripts/make_example_data.py [OUT_DIR]
"""
import sys
from pathlib import Path

from seqzoo.synthetic import make_utr_dataset

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "examples"
paths = make_utr_dataset(out, seed=0, n_genes=16, variants_per_utr=6, contig_length=20_000)
for kind, path in paths.items():
    print(kind, path)
