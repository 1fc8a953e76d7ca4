"""Xpresso (all weight sets) for kipoi-veff: :class:`seqzoo.veff.VeffKipoiModel`; ``model_name`` from the group."""
from seqzoo.veff import VeffKipoiModel


class XpressoVeffModel(VeffKipoiModel):
    """Xpresso on one 10,500-nt TSS window + half-life features; output ``expression``."""
