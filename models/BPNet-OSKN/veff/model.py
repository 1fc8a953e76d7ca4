"""BPNet-OSKN for kipoi-veff: :class:`seqzoo.veff.VeffKipoiModel` (one one-hot window in, one labelled output)."""
from seqzoo.veff import VeffKipoiModel


class BPNetVeffModel(VeffKipoiModel):
    """BPNet-OSKN on one one-hot 1000-nt window; outputs ``<task>/log_total_counts``."""
