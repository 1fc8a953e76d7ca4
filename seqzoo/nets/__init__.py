"""Torch modules of the published models, one module per model, each with its h5 converter."""
