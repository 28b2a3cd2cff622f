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
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from metakit.data.charset import IMAGE_SIZE, CharacterSet
from metakit.paths import cache_dir

LOADER_VERSION = 1
"""Bump when the decoded array changes (resampling, inversion, order); old caches are then ignored."""

RESAMPLE = Image.Resampling.BOX
"""105 -> 28 by area averaging: antialiased, no ringing, values stay within 0..255."""

OFFICIAL_BASE_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"
LAYOUT = "<root>/<Alphabet>/characterNN/<id>_<drawer>.png"
DOWNLOAD_COMMAND = "python -m metakit data omniglot --download"
"""The one command that fetches the official background and evaluation zips into the data folder."""
OFFICIAL_DRAWERS = 20
_DOWNLOAD_CHUNK = 1 << 16
_FILE_NAME = re.compile(r"(\d+)_(\d+)\.png", re.IGNORECASE)
_BROKEN = (OSError, urllib.error.URLError, http.client.HTTPException)
"""What a dropped connection raises while a response is read (IncompleteRead is no OSError)."""


class OmniglotError(ValueError):
    """Bad Omniglot input: names the file, the folder or the numbers that are wrong."""


@dataclass(frozen=True)
class OfficialFile:
    """One zip of the official release: file name, size in bytes, sha256, and what it holds.

    ``characters`` and ``alphabets`` (None: unknown, not checked) are the counts
    :func:`read_omniglot` demands of a source named like this file (zip or unpacked folder).
    """

    filename: str
    size: int
    sha256: str
    characters: int | None = None
    alphabets: int | None = None

    @property
    def stem(self) -> str:
        """The folder the zip unpacks to (``images_background``)."""
        return Path(self.filename).stem


# sha256 and sizes as recorded by TensorFlow Datasets for these exact URLs
# (tensorflow_datasets/url_checksums/omniglot.txt). The two "small" entries agree with
# ../shared/omniglot/README.md and with the shared files themselves.
OFFICIAL_FILES: dict[str, OfficialFile] = {
    "background": OfficialFile(
        "images_background.zip", 9464212,
        "ad41ab679c8b5d90b271ef46be6987cc81211774a695c29dcc5367b2b26ee640", 964, 30,
    ),
    "evaluation": OfficialFile(
        "images_evaluation.zip", 6462886,
        "1f61a8f3366785b057fc117d9228e78a16e3d976c8953b2a10fcc74cf0609cee", 659, 20,
    ),
    "background_small1": OfficialFile(
        "images_background_small1.zip", 1319022,
        "f38eb80f801274ac2b4dff5b24289016bfaba4a7d5bb50deebf27104ad6cb8a4", 136, 5,
    ),
    "background_small2": OfficialFile(
        "images_background_small2.zip", 1580917,
        "3ccaa407515a8778e5d0861875af38b17e418f301ad5bb3b5a6b65d901a41c7f", 156, 5,
    ),
}

SPLIT_ALIASES = {"small1": "background_small1", "small2": "background_small2"}
"""Short names the CLI accepts (``--splits background,evaluation,small1,small2``)."""

Fetch = Callable[[str], "bytes | BinaryIO"]


def as_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path with ``~`` expanded (paths from arguments, the CLI and the environment)."""
    return Path(path).expanduser()


# ====================================================================== reading
@dataclass
class _Source:
    """Files and folders of a zip or a directory, as posix paths relative to its root."""

    path: Path
    files: list[str]
    dirs: set[str]  # explicit folders only (zips may list none): used to find empty ones
    read: Callable[[str], bytes]

    def where(self, member: str) -> str:
        """A name for ``member`` a person can find: ``x.zip:a/b.png`` or ``/dir/a/b.png``."""
        if self.path.is_dir():
            return str(self.path / member)
        return f"{self.path}:{member}"


def _is_hidden(relpath: str) -> bool:
    parts = relpath.strip("/").split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _require_exists(path: Path) -> None:
    if not path.exists():
        raise OmniglotError(
            f"Omniglot source not found: {path}. Pass a folder or zip in the official layout "
            f"{LAYOUT}, or fetch the official zips with `{DOWNLOAD_COMMAND}`."
        )


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[_Source]:
    """Open a folder or a zip as a :class:`_Source` (a zip stays open while in use)."""
    _require_exists(path)
    if path.is_dir():
        yield _folder_source(path)
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise OmniglotError(
            f"{path} is not a zip file ({err}); it may be an HTML error page saved by a broken "
            f"download. Fetch it again (see download()) or extract it by hand and pass the folder."
        ) from None
    with archive:
        yield _zip_source(path, archive)


def _folder_source(path: Path) -> _Source:
    files, dirs = [], set()
    for dirpath, dirnames, filenames in os.walk(path):
        rel = Path(dirpath).relative_to(path).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs.update(prefix + d for d in dirnames)
        files.extend(prefix + f for f in filenames)
    return _Source(
        path=path,
        files=sorted(f for f in files if not _is_hidden(f)),
        dirs={d for d in dirs if not _is_hidden(d)},
        read=lambda member: (path / member).read_bytes(),
    )


def _zip_source(path: Path, archive: zipfile.ZipFile) -> _Source:
    files, dirs = [], set()
    for info in archive.infolist():
        name = info.filename
        if _is_hidden(name):
            continue
        if info.is_dir():
            dirs.add(name.rstrip("/"))
        else:
            files.append(name)
    return _Source(path=path, files=sorted(files), dirs=dirs, read=archive.read)


@dataclass(frozen=True)
class _Character:
    alphabet: str
    character: str
    members: list[str]  # relative paths inside the source, sorted


def _split_parts(relpath: str) -> list[str]:
    return relpath.strip("/").split("/")


def _detect_top_folder(source: _Source, pngs: list[str]) -> str:
    """``""`` for ``Alphabet/character/x.png``, or the one extra top folder (``"images_x"``)."""
    depths = Counter(len(_split_parts(p)) for p in pngs)
    depth = depths.most_common(1)[0][0]
    if depth == 3:
        return ""
    if depth == 4:
        tops = sorted({_split_parts(p)[0] for p in pngs if len(_split_parts(p)) == 4})
        if len(tops) == 1:
            return tops[0]
        raise OmniglotError(
            f"wrong layout in {source.path}: images sit under several top folders "
            f"({', '.join(tops)}); pass one of them. Expected {LAYOUT}."
        )
    example = next(p for p in pngs if len(_split_parts(p)) == depth)
    raise OmniglotError(
        f"wrong layout in {source.path}: no <Alphabet>/<characterNN>/ folders found; images sit "
        f"{depth - 1} folder(s) deep, e.g. {source.where(example)}. Expected {LAYOUT}."
    )


def _parse_layout(source: _Source) -> tuple[str, list[_Character]]:
    """(top folder, characters in sorted order); raises on any deviation from the layout."""
    pngs = [f for f in source.files if f.lower().endswith(".png")]
    if not pngs:
        raise OmniglotError(
            f"wrong layout in {source.path}: no PNG images found. Expected {LAYOUT}."
        )
    top = _detect_top_folder(source, pngs)
    offset = 1 if top else 0
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for png in pngs:
        parts = _split_parts(png)
        if len(parts) != 3 + offset or (top and parts[0] != top):
            raise OmniglotError(
                f"image at the wrong depth: {source.where(png)}; expected {LAYOUT}"
                + (f" under the top folder {top}/" if top else "")
            )
        groups[(parts[offset], parts[offset + 1])].append(png)
    _check_no_empty_folders(source, top, groups)
    characters = [
        _Character(alphabet, character, sorted(groups[(alphabet, character)]))
        for alphabet, character in sorted(groups)
    ]
    _check_drawer_counts(source, characters)
    _check_file_names(source, characters)
    _check_official_counts(source, top or _source_name(source.path), characters)
    return top, characters


def _source_name(path: Path) -> str:
    """``images_background`` for ``images_background.zip`` or the folder ``images_background/``."""
    return path.stem if path.suffix.lower() == ".zip" else path.name


def _check_no_empty_folders(
    source: _Source, top: str, groups: dict[tuple[str, str], list[str]]
) -> None:
    """Every alphabet folder holds characters, every character folder holds images."""
    prefix = top + "/" if top else ""
    alphabets = {a for a, _ in groups}
    for folder in sorted(source.dirs):
        if not folder.startswith(prefix):
            continue
        parts = _split_parts(folder[len(prefix):])
        if len(parts) == 1 and parts[0] not in alphabets:
            raise OmniglotError(
                f"empty alphabet folder: {source.where(folder)} holds no character folders "
                f"with PNG images. Expected {LAYOUT}."
            )
        if len(parts) == 2 and tuple(parts) not in groups:
            raise OmniglotError(f"empty character folder: {source.where(folder)} holds no PNG images. "
                                f"Expected {LAYOUT}.")


def _check_drawer_counts(source: _Source, characters: list[_Character]) -> None:
    counts = Counter(len(c.members) for c in characters)
    if len(counts) == 1:
        return
    usual = counts.most_common(1)[0][0]
    odd = [c for c in characters if len(c.members) != usual]
    named = ", ".join(f"{c.alphabet}/{c.character} ({len(c.members)})" for c in odd[:5])
    more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
    raise OmniglotError(
        f"characters in {source.path} have different drawer counts: {counts[usual]} characters "
        f"have {usual} drawers, but {named}{more} differ. Every character needs the same number "
        f"of drawers ({OFFICIAL_DRAWERS} in the official data). Expected {LAYOUT}."
    )


def _check_file_names(source: _Source, characters: list[_Character]) -> None:
    """Every image is ``<id>_<drawer>.png``; one character id per folder, each drawer once.

    Refuses sets that are not character folders, e.g. Lake's one-shot classification runs
    (``runNN/training/classNN.png``), whose two folders per run would otherwise pass as characters.
    """
    for character in characters:
        names = [m.rsplit("/", 1)[-1] for m in character.members]
        parsed = [_FILE_NAME.fullmatch(n) for n in names]
        odd = [m for m, match in zip(character.members, parsed) if match is None]
        if odd:
            raise OmniglotError(
                f"wrong layout in {source.path}: image names should be <id>_<drawer>.png (a character "
                f"id and a drawer number, e.g. 0108_01.png); found {source.where(odd[0])}"
                f"{_runs_hint(odd[0])}. Expected {LAYOUT}."
            )
        ids = sorted({match.group(1) for match in parsed})
        drawers = Counter(int(match.group(2)) for match in parsed)
        repeated = sorted(d for d, n in drawers.items() if n > 1)
        if len(ids) > 1 or repeated:
            found = (f"character ids {', '.join(ids)}" if len(ids) > 1
                     else f"drawer {repeated[0]} {drawers[repeated[0]]} times")
            raise OmniglotError(
                f"wrong layout in {source.path}: the images of one character share one id and number "
                f"each drawer once, but {character.alphabet}/{character.character} holds {found}. "
                f"Expected {LAYOUT}."
            )


def _runs_hint(member: str) -> str:
    parts = _split_parts(member)
    if any(re.fullmatch(r"run\d+", p) for p in parts) and {"training", "test"} & set(parts):
        return (" (this looks like the one-shot classification runs runNN/training/classNN.png, "
                "which are episodes, not a character set)")
    return ""


def _official_spec(name: str) -> OfficialFile | None:
    return next((f for f in OFFICIAL_FILES.values() if f.stem == name), None)


def _check_official_counts(source: _Source, name: str, characters: list[_Character]) -> None:
    """A source named like an official file (``images_background``) holds what that file holds."""
    spec = _official_spec(name)
    if spec is None or spec.characters is None:
        return
    found = (len(characters), len({c.alphabet for c in characters}), len(characters[0].members))
    wanted = (spec.characters, spec.alphabets, OFFICIAL_DRAWERS)
    if found != wanted:
        raise OmniglotError(
            f"wrong counts in {source.path}: {name} of the official release holds {wanted[0]} characters "
            f"in {wanted[1]} alphabets, {wanted[2]} drawers each; found {found[0]} characters in "
            f"{found[1]} alphabets, {found[2]} drawers each (a partial copy or unpacking?). "
            f"Expected {LAYOUT}; fetch it again with `{DOWNLOAD_COMMAND}`."
        )


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


# ====================================================================== download
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


# ====================================================================== writing
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
