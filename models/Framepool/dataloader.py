"""Kipoi dataloader for Framepool: 5'UTR ref/alt windows of VCF variants (seqzoo's window rule)."""
from seqzoo_dataloaders.variant_windows import VariantWindowsDataLoader


class FramepoolDataLoader(VariantWindowsDataLoader):
    """One sample per (VCF allele x transcript whose 5'UTR holds it); see ``dataloader.yaml``."""

    model_name = "Framepool"
