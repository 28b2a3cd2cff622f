"""Write any CharacterSet as PNGs in the official Omniglot layout (``root/<Alphabet>/<character>/<file>.png``)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from metakit.data.charset import CharacterSet
from metakit.data.official import as_path


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_().-]+", "_", str(name)).strip("._")
    return cleaned or "unnamed"


def _drawer_files(entry: dict[str, Any], index: int, drawers: int) -> list[str]:
    files = entry.get("files")
    if isinstance(files, list) and len(files) == drawers and len(set(files)) == drawers:
        return [_safe_name(f) if str(f).lower().endswith(".png") else _safe_name(f) + ".png"
                for f in files]
    return [f"{index + 1:04d}_{d + 1:02d}.png" for d in range(drawers)]


def _encode(image: np.ndarray, size: int, binary: bool) -> Image.Image:
    """uint8 ``[H, W]`` (strokes 255) -> black-on-white PNG image of ``size x size``."""
    ink = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    paper = ImageOps.invert(ink)
    if paper.size != (size, size):
        paper = paper.resize((size, size), Image.Resampling.BICUBIC)
    return paper.convert("1", dither=Image.Dither.NONE) if binary else paper


def write_official_layout(
    charset: CharacterSet,
    root: str | os.PathLike,
    size: int = 105,
    binary: bool = True,
    progress: bool | None = None,
) -> Path:
    """Write ``charset`` as ``root/<Alphabet>/<character>/<file>.png`` (black strokes on white).

    Args:
        charset: images uint8 ``[C, D, H, W]``; file names come from the manifest's ``files``
            when present, else ``<char:04d>_<drawer:02d>.png``.
        size: side of the written PNGs (105 as in the official data; 28 with ``binary=False``
            round-trips exactly through :func:`read_omniglot`).
        binary: one-bit PNGs like the official release (threshold at 128, no dithering).

    Returns:
        ``root``.
    """
    root = as_path(root)
    drawers = charset.num_drawers
    bar = tqdm(total=charset.num_characters * drawers, desc=f"writing {root.name}", unit="img",
               disable=progress is False, leave=False)
    with bar:
        for c, entry in enumerate(charset.manifest):
            folder = root / _safe_name(entry["alphabet"]) / _safe_name(entry["character"])
            folder.mkdir(parents=True, exist_ok=True)
            for d, filename in enumerate(_drawer_files(entry, c, drawers)):
                _encode(charset.images[c, d], size, binary).save(folder / filename)
            bar.update(drawers)
    return root
