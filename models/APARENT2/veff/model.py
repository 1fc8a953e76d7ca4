"""APARENT2 for kipoi-veff: :class:`seqzoo.veff.VeffKipoiModel` (one window in, one labelled output)."""
from seqzoo.veff import VeffKipoiModel


class APARENT2VeffModel(VeffKipoiModel):
    """APARENT2 on one 205-nt window; outputs ``iso_prob``, ``logodds_narrow``, ``logodds``."""
