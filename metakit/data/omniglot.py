"""Real Omniglot: read the official layout (folder or zip), cache it, download it, write it.

The official release (https://github.com/brendenlake/omniglot, folder ``python/``) ships
``images_background.zip`` (30 alphabets, 964 characters) and ``images_evaluation.zip``
(20 alphabets, 659 characters), each laid out as::

    [<top folder>/]<Alphabet>/characterNN/<id>_<drawer>.png     105x105 one-bit PNGs, 20 drawers

:func:`read_omniglot` turns such a folder or zip into a :class:`CharacterSet` with images
``[C, 20, 28, 28]`` uint8 (strokes 255, background 0, box-filtered from 105x105), in sorted order
(alphabets, then characters, then files), so the same files always give the same array.
:func:`load_omniglot` caches that array; :func:`download` fetches the official zips with sha256
checks; :func:`write_official_layout` writes any CharacterSet back out as PNGs in the same layout.

This module is the front door to real Omniglot and holds the reading and the caching; the rest
lives one concept a module and is re-exported here:

* :mod:`metakit.data.official`: the official files (:data:`OFFICIAL_FILES`), :data:`LAYOUT`,
  :class:`OmniglotError`;
* :mod:`metakit.data.layout`: opening a folder or zip and checking it against the layout;
* :mod:`metakit.data.download`: :func:`download`, :func:`official_members`, :func:`find_sources`;
* :mod:`metakit.data.write`: :func:`write_official_layout`.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from metakit.data.charset import IMAGE_SIZE, CharacterSet
from metakit.data.download import (  # noqa: F401 - the downloader, re-exported: import it from here
    OFFICIAL_BASE_URL,
    Fetch,
    download,
    find_sources,
    official_members,
    sha256_file,
)
from metakit.data.layout import _folder_source, _open_source, _parse_layout, _require_exists, _source_name
from metakit.data.official import (  # noqa: F401 - the official release's facts, re-exported
    DOWNLOAD_COMMAND,
    LAYOUT,
    OFFICIAL_DRAWERS,
    OFFICIAL_FILES,
    SPLIT_ALIASES,
    OfficialFile,
    OmniglotError,
    as_path,
)
from metakit.data.write import write_official_layout  # noqa: F401 - the writer, re-exported
from metakit.paths import cache_dir

LOADER_VERSION = 1
"""Bump when the decoded array changes (resampling, inversion, order); old caches are then ignored."""

RESAMPLE = Image.Resampling.BOX
"""105 -> 28 by area averaging: antialiased, no ringing, values stay within 0..255."""


# ====================================================================== reading
def _decode(data: bytes, where: str) -> np.ndarray:
    """One PNG -> uint8 ``[28, 28]``, strokes 255, background 0, box-filtered."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            gray = image.convert("L")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise OmniglotError(f"cannot decode {where}: {err} (truncated or not a PNG image?)") from None
    small = ImageOps.invert(gray).resize((IMAGE_SIZE, IMAGE_SIZE), RESAMPLE)
    return np.asarray(small, dtype=np.uint8)


def read_omniglot(path: str | os.PathLike, progress: bool | None = None) -> CharacterSet:
    """Read a folder or zip in the official layout into a CharacterSet, without extracting.

    Args:
        path: a folder or ``.zip`` laid out as ``[<top>/]<Alphabet>/characterNN/<id>_<drawer>.png``
            (one extra top folder such as ``images_background/`` is detected and skipped).
        progress: show a tqdm bar (None: tqdm's default, on stderr).

    Returns:
        images uint8 ``[C, D, 28, 28]`` (D = drawers per character, 20 in the official data),
        manifest entries ``{"alphabet", "character", "files"}`` in sorted order.

    Raises:
        OmniglotError: missing path, not a zip, wrong layout, empty folders, unequal drawer
            counts, image names that are not ``<id>_<drawer>.png`` (one id per character folder,
            each drawer once), counts unlike the official file of the same name, or an image that
            cannot be decoded; the message says what was expected and names what was found.
    """
    path = as_path(path)
    with _open_source(path) as source:
        top, characters = _parse_layout(source)
        drawers = len(characters[0].members)
        images = np.empty((len(characters), drawers, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
        bar = tqdm(total=images.shape[0] * drawers, desc=f"reading {path.name}", unit="img",
                   disable=progress is False, leave=False)
        with bar:
            for c, character in enumerate(characters):
                for d, member in enumerate(character.members):
                    images[c, d] = _decode(source.read(member), source.where(member))
                bar.update(drawers)
    manifest = [
        {
            "alphabet": ch.alphabet,
            "character": ch.character,
            "files": [m.rsplit("/", 1)[-1] for m in ch.members],
        }
        for ch in characters
    ]
    name = top or _source_name(path)
    info = {"source": str(path), "loader_version": LOADER_VERSION, "resample": RESAMPLE.name}
    return CharacterSet(images=images, manifest=manifest, name=f"omniglot/{name}", info=info)


# ====================================================================== caching
def content_hash(path: str | os.PathLike) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of a zip, or of a folder's sorted ``relpath<TAB>size`` list."""
    path = as_path(path)
    _require_exists(path)
    if path.is_file():
        return path.stat().st_size, sha256_file(path)
    digest, total = hashlib.sha256(), 0
    for member in _folder_source(path).files:
        size = (path / member).stat().st_size
        total += size
        digest.update(f"{member}\t{size}\n".encode())
    return total, digest.hexdigest()


def cache_path(path: str | os.PathLike) -> Path:
    """Cache base path (``.npz`` + ``.json``) for a source: name, size, content hash, version."""
    path = as_path(path)
    size, digest = content_hash(path)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem if path.is_file() else path.name)
    return cache_dir() / "omniglot" / f"{stem}-{size}-{digest[:16]}-v{LOADER_VERSION}"


def load_omniglot(
    path: str | os.PathLike, cache: bool = True, progress: bool | None = None
) -> CharacterSet:
    """:func:`read_omniglot`, cached in ``cache_dir()/omniglot`` (``$METAKIT_CACHE`` moves it).

    The cache key holds the source's name, size, content hash and :data:`LOADER_VERSION`, so a
    changed source or loader builds a new cache. An unreadable cache is rebuilt.
    """
    base = cache_path(path)
    if cache and base.with_suffix(".npz").exists() and base.with_suffix(".json").exists():
        try:
            return CharacterSet.load(base)
        except (OSError, ValueError, KeyError):
            pass  # corrupt or partial cache: rebuild below
    charset = read_omniglot(path, progress=progress)
    if cache:
        charset.save(base)
    return charset
