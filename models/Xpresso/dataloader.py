"""Kipoi dataloader of the Xpresso group: TSS ref/alt windows + half-life features of VCF variants.

The class lives in ``seqzoo_dataloaders.xpresso`` (kipoi's ``defined_as`` imports only the first
dotted component as a module, so the group's dataloader.yaml names it through this file).
"""
from seqzoo_dataloaders.xpresso import XpressoDataLoader

__all__ = ["XpressoDataLoader"]
