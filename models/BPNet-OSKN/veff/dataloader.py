"""BPNet-OSKN windows for kipoi-veff: seqzoo's window of each SNV kipoi-veff writes into ``intervals_file``."""
from seqzoo_dataloaders.veff import SnvCentredDataLoader


class BPNetVeffDataLoader(SnvCentredDataLoader):
    """One one-hot 1000-nt window per SNV (SNV at index 500); see ``dataloader.yaml``."""
