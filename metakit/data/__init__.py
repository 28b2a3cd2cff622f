"""Datasets as one uint8 array ``[C, D, 28, 28]`` plus a manifest (:class:`CharacterSet`).

* :mod:`metakit.data.glyphs`: the embedded default, Omniglot-style characters the kit generates.
* :mod:`metakit.data.omniglot`: real Omniglot in the official layout (folder or zip): read, cache;
  the front door to :mod:`~metakit.data.official` (the official files), :mod:`~metakit.data.layout`
  (checking a folder or zip), :mod:`~metakit.data.download` and :mod:`~metakit.data.write`.
* :mod:`metakit.data.splits`: splits by alphabet and by character, provably disjoint.
* :mod:`metakit.data.protocols`: each assignment's train/val/test characters (hw1's and hw2's
  ``load_data``).
"""
from metakit.data.charset import CharacterSet

__all__ = ["CharacterSet"]
