"""Kipoi dataloader for BPNet-OSKN: 1000-nt ref/alt windows centred on VCF variants (no GTF)."""
from seqzoo_dataloaders.variant_windows import VariantWindowsDataLoader


class BPNetDataLoader(VariantWindowsDataLoader):
    """One sample per VCF allele whose 1000-nt window fits in its contig; see ``dataloader.yaml``."""

    model_name = "BPNet-OSKN"

    def __init__(self, fasta_file, vcf_file, skip_report=None):
        self._init(fasta_file, None, vcf_file, skip_report, {})
