"""Mixtures and sums of noises (filled in by the noise-families work)."""
