"""The old home of the image distortions: they live in :mod:`metakit.episodes.augment`."""
from metakit.episodes.augment import AffineJitter, warp

__all__ = ["AffineJitter", "warp"]
