"""Kipoi dataloaders shared by the model directories (installed as ``seqzoo_dataloaders``)."""
