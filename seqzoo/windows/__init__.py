"""Each model's window rule: which features a variant touches and the ref/alt sequences there.

A rule is built from the genome, the GTF and the contig-name map, and answers one question per
validated allele (REF already checked against the FASTA, contig already mapped):
``rule.windows(allele, chrom) -> (list[WindowPair], list[FeatureSkip])``.
"""
from .base import FeatureSkip, WindowPair  # noqa: F401  (re-exported)
