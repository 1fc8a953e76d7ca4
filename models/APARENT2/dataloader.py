"""Kipoi dataloader for APARENT2: 205-nt 3'-end (PAS) ref/alt windows of VCF variants (seqzoo's window rule)."""
from seqzoo_dataloaders.variant_windows import VariantWindowsDataLoader


class APARENT2DataLoader(VariantWindowsDataLoader):
    """One sample per (VCF allele x transcript whose 205-nt 3'-end window holds it); see ``dataloader.yaml``."""

    model_name = "APARENT2"
