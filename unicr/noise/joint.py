"""Joint (non-product) noises of Yang et al. 2020 (filled in by the noise-families work)."""
