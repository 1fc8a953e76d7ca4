"""Xpresso windows for kipoi-veff: the regions of ``seqzoo veff-regions --model Xpresso/<set>`` + half-lives."""
from seqzoo_dataloaders.veff import XpressoRegionWindowsDataLoader

__all__ = ["XpressoRegionWindowsDataLoader"]
