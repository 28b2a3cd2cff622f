"""metakit.

``metakit.device()`` is the device the kit trains on (CUDA, then MPS, then the CPU; ``$METAKIT_DEVICE``
overrides it); see :mod:`metakit.device`. Importing the package stays cheap: torch loads on first use.
"""
from metakit import device  # noqa: F401  (a callable module: metakit.device() -> torch.device)
