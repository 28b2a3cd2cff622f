"""Open a folder or zip of Omniglot and check it against the official layout, file by file.

:func:`_open_source` lists a folder or a zip (without extracting it) as a :class:`_Source`;
:func:`_parse_layout` finds its characters in sorted order (alphabets, then characters, then files)
and raises :class:`~metakit.data.official.OmniglotError` on any deviation from
``[<top folder>/]<Alphabet>/characterNN/<id>_<drawer>.png``. :func:`metakit.data.omniglot.read_omniglot`
decodes what this finds.
"""
from __future__ import annotations

import contextlib
import os
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from metakit.data.official import (
    DOWNLOAD_COMMAND,
    LAYOUT,
    OFFICIAL_DRAWERS,
    OFFICIAL_FILES,
    OfficialFile,
    OmniglotError,
)

_FILE_NAME = re.compile(r"(\d+)_(\d+)\.png", re.IGNORECASE)


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
