"""The command-line groups of ``python -m metakit`` that sit above the library.

* :mod:`metakit.cli.data`: ``python -m metakit data ...`` (build the data caches, look at a
  sampled episode). It lives here, not in :mod:`metakit.data`, because it reaches up to
  :mod:`metakit.episodes` and :mod:`metakit.plot`; the data package imports neither.
"""
