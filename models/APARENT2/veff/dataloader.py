"""APARENT2 windows for kipoi-veff: the regions of ``seqzoo veff-regions --model APARENT2``."""
from seqzoo_dataloaders.veff import RegionWindowsDataLoader


class APARENT2VeffDataLoader(RegionWindowsDataLoader):
    """One 205-nt reference window per region of ``regions_file``; see ``dataloader.yaml``."""

    model_name = "APARENT2"
