"""Kipoi dataloader for HAL: 160-nt 5' splice-donor ref/alt windows of VCF variants (seqzoo's window rule)."""
from seqzoo_dataloaders.variant_windows import VariantWindowsDataLoader


class HALDataLoader(VariantWindowsDataLoader):
    """One sample per (VCF allele x distinct donor window holding its REF); see ``dataloader.yaml``."""

    model_name = "HAL"
