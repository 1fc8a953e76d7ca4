"""The Kipoi dataloader of the five Xpresso weight sets (``models/Xpresso/<set>``).

:class:`~seqzoo_dataloaders.variant_windows.VariantWindowsDataLoader` with seqzoo's Xpresso window
rule (:mod:`seqzoo.windows.tss`: 10,500 nt around each gene's TSS, the TSS at index 7,000 in
transcript orientation) and the per-gene half-life features. One sample per (VCF allele x gene
whose window holds it)::

    {"inputs": {"ref": <10,500-nt str>, "alt": <10,500-nt str>, "halflife": (6,) float32},
     "metadata": {"variant_id", "chrom", "pos", "ref", "alt", "feature_id", "gene_id", "strand",
                  "halflife_source"}}

``halflife_source`` is ``zeros`` (no ``halflife_file``), ``file`` or ``zeros_gene_not_in_file``.
The weight sets share the window rule and the inputs, so one dataloader serves all five.
"""
from __future__ import annotations

import dataclasses

from .variant_windows import VariantWindowsDataLoader

#: the registry entry whose window rule the dataloader uses (identical for every weight set)
WINDOW_SPEC = "Xpresso/human_median"


class XpressoDataLoader(VariantWindowsDataLoader):
    """Ref/alt TSS windows of VCF variants with the gene's half-life features.

    Args:
      fasta_file, gtf_file, vcf_file, skip_report: as :class:`VariantWindowsDataLoader` (genes
        from the GTF's ``gene`` lines, else from the extent of each gene_id's ``exon`` lines).
      halflife_file: optional TSV (header line; ``gene_id`` + the six half-life features in the order
        of Xpresso's training data, not standardised here); without it every gene gets zeros (the
        Kipoi wrapper's choice: average mRNA features).
    """

    model_name = WINDOW_SPEC

    def __init__(self, fasta_file, gtf_file, vcf_file, skip_report=None, halflife_file=None):
        self._init(fasta_file, gtf_file, vcf_file, skip_report, {"halflife_file": halflife_file})
        # log lines say "Xpresso", not the weight set whose (shared) window rule was borrowed
        self.spec = dataclasses.replace(self.spec, name="Xpresso")

