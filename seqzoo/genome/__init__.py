"""Genome input shared by every model: FASTA, VCF, GTF and contig-name harmonisation.

Coordinates: :class:`~seqzoo.genome.vcf.VariantAllele` keeps the VCF's 1-based ``pos``;
everything else (FASTA fetches, GTF features, windows) is 0-based half-open.
"""
