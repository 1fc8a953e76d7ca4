"""HAL for kipoi-veff: :class:`seqzoo.veff.VeffKipoiModel` (one window in, one labelled output)."""
from seqzoo.veff import VeffKipoiModel


class HALVeffModel(VeffKipoiModel):
    """HAL on one 160-nt donor window; output ``score``."""
