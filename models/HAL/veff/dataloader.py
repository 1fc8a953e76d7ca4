"""HAL windows for kipoi-veff: the regions of ``seqzoo veff-regions --model HAL``."""
from seqzoo_dataloaders.veff import RegionWindowsDataLoader


class HALVeffDataLoader(RegionWindowsDataLoader):
    """One 160-nt reference donor window per region of ``regions_file``; see ``dataloader.yaml``."""

    model_name = "HAL"
