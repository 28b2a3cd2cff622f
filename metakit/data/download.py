"""Download the official Omniglot zips, each checked against its sha256, and find them in a folder.

:func:`download` fetches the official zips (:data:`~metakit.data.official.OFFICIAL_FILES`) atomically
(temporary file, then rename), retrying once when a connection breaks off; :func:`official_members`
and :func:`find_sources` find the official zips, or their unpacked folders, in a folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Sequence

from tqdm.auto import tqdm

from metakit.data.official import OFFICIAL_FILES, SPLIT_ALIASES, OfficialFile, OmniglotError, as_path

OFFICIAL_BASE_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"
_DOWNLOAD_CHUNK = 1 << 16
_BROKEN = (OSError, urllib.error.URLError, http.client.HTTPException)
"""What a dropped connection raises while a response is read (IncompleteRead is no OSError)."""

Fetch = Callable[[str], "bytes | BinaryIO"]


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _urlopen(url: str) -> BinaryIO:
    """Default fetch: urllib (http, https and file:// URLs), 60 s timeout."""
    return urllib.request.urlopen(url, timeout=60)


def _chunks(payload: bytes | BinaryIO) -> Iterator[bytes]:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        yield bytes(payload)
        return
    with contextlib.closing(payload):
        for chunk in iter(lambda: payload.read(_DOWNLOAD_CHUNK), b""):
            yield chunk


def _by_hand(url: str, root: Path) -> str:
    return (
        f"Download it by hand from {url} (the official Omniglot repository, "
        f"https://github.com/brendenlake/omniglot, folder python/), put it in {root}, "
        f"and pass --root {root}."
    )


def _official(split: str) -> OfficialFile:
    split = SPLIT_ALIASES.get(split, split)
    if split not in OFFICIAL_FILES:
        known = ", ".join([*OFFICIAL_FILES, *SPLIT_ALIASES])
        raise OmniglotError(f"unknown Omniglot split {split!r}; known: {known}")
    return OFFICIAL_FILES[split]


class _BrokeOff(Exception):
    """The stream of a download ended early: worth one more try."""


def _fetch_to(url: str, target: Path, spec: OfficialFile, fetch: Fetch, progress: bool | None) -> None:
    """Stream ``url`` into ``target`` atomically, retrying once when the connection breaks off."""
    for attempt in (1, 2):
        try:
            _fetch_once(url, target, spec, fetch, progress)
            return
        except _BrokeOff as err:
            if attempt == 2:
                raise OmniglotError(f"download of {url} broke off after {err} (tried twice). "
                                    + _by_hand(url, target.parent)) from None


def _fetch_once(url: str, target: Path, spec: OfficialFile, fetch: Fetch, progress: bool | None) -> None:
    """Stream ``url`` into a temporary file beside ``target``; rename only when sha256 matches."""
    try:
        payload = fetch(url)
    except _BROKEN as err:
        raise OmniglotError(f"cannot download {url} ({err}); are you offline? "
                            + _by_hand(url, target.parent)) from None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest, received = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, tqdm(total=spec.size, desc=f"downloading {spec.filename}",
                                             unit="B", unit_scale=True, disable=progress is False,
                                             leave=False) as bar:
            try:
                for chunk in _chunks(payload):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except _BROKEN as err:
                raise _BrokeOff(f"{received} bytes ({err!r})") from None
        if digest.hexdigest() != spec.sha256:
            raise OmniglotError(
                f"checksum mismatch for {url}: got sha256 {digest.hexdigest()} ({received} bytes), "
                f"expected {spec.sha256} ({spec.size} bytes); the file was not saved. "
                + _by_hand(url, target.parent)
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(
    root: str | os.PathLike,
    splits: Sequence[str] = ("background", "evaluation"),
    *,
    base_url: str = OFFICIAL_BASE_URL,
    fetch: Fetch | None = None,
    progress: bool | None = None,
) -> list[Path]:
    """Fetch the official zips into ``root``; return their paths (one per split, in order).

    Each file is checked against its official sha256 and written atomically (temporary file,
    then rename), so a broken download never leaves a partial zip; a connection that breaks off
    mid-file is tried once more. A file already in ``root`` with the right checksum is not
    fetched again.

    Args:
        root: destination folder (created if needed; ``~`` is expanded).
        splits: keys of :data:`OFFICIAL_FILES` (``background``, ``evaluation``,
            ``background_small1``, ``background_small2``) or the aliases ``small1``, ``small2``.
        base_url: folder URL the file names are appended to (``file://`` URLs work).
        fetch: ``url -> bytes | binary stream``; defaults to ``urllib.request.urlopen``.

    Raises:
        OmniglotError: unknown split, offline or broken download (says how to download by hand),
            or a checksum mismatch.
    """
    root = as_path(root)
    specs = [_official(split) for split in splits]  # unknown names fail before any download
    root.mkdir(parents=True, exist_ok=True)
    fetch = fetch or _urlopen
    paths = []
    for spec in specs:
        target = root / spec.filename
        if not (target.is_file() and sha256_file(target) == spec.sha256):
            url = base_url.rstrip("/") + "/" + spec.filename
            _fetch_to(url, target, spec, fetch, progress)
        paths.append(target)
    return paths


def official_members(folder: str | os.PathLike) -> dict[str, Path]:
    """Split -> the official zip, or else its unpacked folder, found directly in ``folder``.

    ``{"background": <folder>/images_background.zip, ...}``, in :data:`OFFICIAL_FILES` order; an
    unpacked folder (``images_background/``) counts when it is not empty. Nothing is read.
    """
    folder = as_path(folder)
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for split, spec in OFFICIAL_FILES.items():
        unpacked = folder / spec.stem
        if (folder / spec.filename).is_file():
            found[split] = folder / spec.filename
        elif unpacked.is_dir() and any(unpacked.iterdir()):
            found[split] = unpacked
    return found


def find_sources(root: str | os.PathLike) -> list[Path]:
    """The Omniglot sources under ``root``: the official zips (or unpacked folders) it holds,
    else ``root`` itself."""
    root = as_path(root)
    return list(official_members(root).values()) or [root]
