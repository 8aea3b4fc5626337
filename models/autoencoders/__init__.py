"""Autoencoders (MODELS.md §5): stacked, tied, convolutional, denoising,
sparse (L1 and KL) and variational, trained to reconstruct images."""
