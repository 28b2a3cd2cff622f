"""Where character images come from: one answer for every notebook and loader.

:func:`resolve` looks, in this order, and takes the first that holds Omniglot:

1. an explicit path (a function argument): a zip or folder in the official layout, or a folder
   holding the official zips (or their unpacked folders);
2. ``$METAKIT_OMNIGLOT`` (the same kinds of path);
3. the full official background set in :func:`omniglot_home` (``cache_dir()/omniglot``, where
   ``python -m metakit data omniglot --download`` writes ``images_background.zip`` and
   ``images_evaluation.zip``);
4. the two official minimal splits, in the shared folder beside the repository
   (``<repo>/../shared/omniglot``, unless ``$METAKIT_OMNIGLOT`` replaces it) or in
   :func:`omniglot_home`;
5. the kit's generated glyphs (always there).

Inside one folder, the full background set wins over the minimal splits, and a folder holding
neither counts when it is itself a character set in the official layout. ``"auto"`` ends at the
glyphs; ``"omniglot"`` and an explicit path raise :class:`OmniglotNotFound` (one message, naming the
folders searched and the download command) when there is no Omniglot. The answer is a
:class:`DataSource`; its :attr:`~DataSource.line` is the one line a notebook prints.
:func:`load_characters` reads what a DataSource points at.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from metakit.data.charset import CharacterSet
from metakit.data.omniglot import (
    DOWNLOAD_COMMAND,
    LAYOUT,
    OFFICIAL_FILES,
    as_path,
    load_omniglot,
    official_members,
)
from metakit.paths import REPO_ROOT, cache_dir

BACKGROUND = "omniglot-background"
MINIMAL = "omniglot-minimal"
PATH = "omniglot-path"
GLYPHS = "glyphs"
KEYWORDS = ("auto", "omniglot", "glyphs")
MINIMAL_SPLITS = ("background_small1", "background_small2")
MINIMAL_CHARACTERS = 242
"""Distinct characters of the two minimal splits: 136 + 156, less the 50 Greek and Latin ones in both."""


class OmniglotNotFound(FileNotFoundError, ValueError):
    """No Omniglot where it was asked for (a FileNotFoundError, and a ValueError like a bad argument)."""


@dataclass(frozen=True)
class DataSource:
    """Where the characters come from.

    Attributes:
        kind: ``omniglot-background`` (the full official background set; ``evaluation`` too when
            present), ``omniglot-minimal`` (``paths`` = the two minimal splits), ``omniglot-path``
            (``paths`` = one zip or folder in the official layout) or ``glyphs`` (no paths).
        paths: the zips or folders to read, in order.
        evaluation: ``images_evaluation`` (zip or folder) beside the background set, else None.
        description: one line, e.g. ``Omniglot background, 964 characters (/path)``.
    """

    kind: str
    paths: tuple[Path, ...] = ()
    evaluation: Path | None = None
    description: str = ""

    @property
    def is_omniglot(self) -> bool:
        return self.kind != GLYPHS

    @property
    def line(self) -> str:
        """The one line a notebook prints: ``data: <description>``."""
        return f"data: {self.description}"


Request = Union[str, os.PathLike, DataSource]


# ---------------------------------------------------------------------------- folders
def omniglot_home() -> Path:
    """The kit's Omniglot folder, ``cache_dir()/omniglot``: downloads land here, next to the caches."""
    return cache_dir() / "omniglot"


def default_shared_dir() -> Path:
    """The shared folder beside the repository that holds the two minimal splits."""
    return REPO_ROOT.parent / "shared" / "omniglot"


def _env_dir() -> Path | None:
    value = os.environ.get("METAKIT_OMNIGLOT")
    return as_path(value) if value else None


# ---------------------------------------------------------------------------- what a folder holds
def _count(split: str) -> str:
    characters = OFFICIAL_FILES[split].characters
    return f", {characters} characters" if characters is not None else ""


def _background(members: dict[str, Path], where: Path) -> DataSource:
    evaluation = members.get("evaluation")
    held_out = f"; evaluation{_count('evaluation')} held out" if evaluation else ""
    return DataSource(BACKGROUND, (members["background"],), evaluation,
                      f"Omniglot background{_count('background')}{held_out} ({where})")


def _minimal(members: dict[str, Path], where: Path) -> DataSource:
    paths = tuple(members[split] for split in MINIMAL_SPLITS)
    return DataSource(MINIMAL, paths, None,
                      f"Omniglot minimal splits small1 + small2, {MINIMAL_CHARACTERS} distinct characters "
                      f"({where})")


def _has_png(folder: Path) -> bool:
    return next((True for p in folder.rglob("*") if p.suffix.lower() == ".png"), False)


def inspect(path: str | os.PathLike, background: bool = True, minimal: bool = True,
            layout: bool = True) -> DataSource | None:
    """What Omniglot ``path`` holds, or None (missing, empty, or nothing in the official layout).

    A folder holding ``images_background`` (zip or unpacked) gives the background set, one holding
    both minimal zips gives those, and (``layout``) any other zip, or folder with PNG images and
    no official file, is read as it is (``omniglot-path``). ``background`` / ``minimal`` False skip
    those kinds. Nothing is decoded here: ``read_omniglot`` checks the layout when it reads.
    """
    path = as_path(path)
    members = official_members(path)
    if background and "background" in members:
        return _background(members, path)
    if minimal and all(split in members for split in MINIMAL_SPLITS):
        return _minimal(members, path)
    if not layout or members or not (path.is_file() or (path.is_dir() and _has_png(path))):
        return None
    kind = "zip" if path.is_file() else "folder"
    return DataSource(PATH, (path,), None, f"Omniglot {kind} {path}")


def _candidates() -> list[tuple[Path, bool, bool, bool]]:
    """(folder, background?, minimal?, layout?) to inspect, in order, after an explicit path.

    ``$METAKIT_OMNIGLOT`` first (any kind; it replaces the shared folder), then the background set
    in :func:`omniglot_home`, then the shared folder, then the minimal splits in the home folder.
    """
    env, home = _env_dir(), omniglot_home()
    first = [(env, True, True, True)] if env is not None else []
    shared = [] if env is not None else [(default_shared_dir(), True, True, False)]
    return [*first, (home, True, False, False), *shared, (home, False, True, False)]


# ---------------------------------------------------------------------------- the answer
def not_found(searched: list[Path]) -> OmniglotNotFound:
    """The one error for "no Omniglot here": names the folders, what belongs there, the command."""
    where = ", ".join(str(p) for p in dict.fromkeys(searched))
    return OmniglotNotFound(
        f"real Omniglot not found in {where}: expected images_background.zip (or its unpacked folder "
        f"images_background/, with images_evaluation.zip beside it for a held-out test set), or both "
        f"images_background_small1.zip and images_background_small2.zip, or the path of an Omniglot "
        f"folder or zip in the official layout {LAYOUT}. Run `{DOWNLOAD_COMMAND}` (it writes to "
        f"{omniglot_home()}), set METAKIT_OMNIGLOT to a folder that holds them, or use 'glyphs'."
    )


def _glyphs(note: str = "") -> DataSource:
    why = f"{note}; " if note else ""
    return DataSource(GLYPHS, description=f"glyphs (embedded; {why}run `{DOWNLOAD_COMMAND}` for real Omniglot)")


def resolve(request: Request = "auto") -> DataSource:
    """Where the characters come from (see the module docstring for the order).

    Args:
        request: ``"auto"`` (Omniglot when found, else glyphs), ``"omniglot"`` (Omniglot or an
            error), ``"glyphs"``, a path (``~`` expanded; the path itself, nothing else), or a
            DataSource (returned as it is).

    Raises:
        OmniglotNotFound: ``"omniglot"`` or a path, and no Omniglot there.
    """
    if isinstance(request, DataSource):
        return request
    if request == GLYPHS:
        return _glyphs()
    if str(request) not in KEYWORDS:
        found = inspect(request)
        if found is None:
            raise not_found([as_path(request)])
        return found
    searched = []
    for folder, background, minimal, layout in _candidates():
        found = inspect(folder, background, minimal, layout)
        if found is not None:
            return found
        searched.append(folder)
    if request == "omniglot":
        raise not_found(searched)
    env = _env_dir()
    return _glyphs(f"$METAKIT_OMNIGLOT={env} holds no Omniglot" if env is not None else "")


def announce(request: Request = "auto") -> DataSource:
    """:func:`resolve`, and print its one line (``data: ...``); returns the DataSource."""
    source = resolve(request)
    print(source.line)
    return source


def omniglot_available(folder: str | os.PathLike | None = None) -> bool:
    """True when :func:`resolve` finds real Omniglot (in ``folder`` when given, else anywhere)."""
    try:
        return resolve("auto" if folder is None else folder).is_omniglot
    except OmniglotNotFound:
        return False


# ---------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Characters:
    """What a DataSource holds, read.

    Attributes:
        pool: uint8 ``[C, 20, 28, 28]``: every character meta-training may draw from (the union of
            the minimal splits, the background set, the one path, or the glyphs).
        parts: the sets ``pool`` was joined from (the two minimal splits), else ``(pool,)``.
        evaluation: ``images_evaluation`` when the source has it (other alphabets), else None.
    """

    pool: CharacterSet
    parts: tuple[CharacterSet, ...]
    evaluation: CharacterSet | None = None


def load_characters(request: Request = "auto", **glyph_options: Any) -> Characters:
    """Read what :func:`resolve` finds (through the caches of ``load_omniglot`` / ``load_glyphs``).

    The minimal splits are joined with :func:`metakit.data.splits.union` (each character once);
    ``glyph_options`` go to :func:`metakit.data.glyphs.load_glyphs` when the source is glyphs.
    """
    source = resolve(request)
    if source.kind == GLYPHS:
        from metakit.data.glyphs import load_glyphs

        glyphs = load_glyphs(**glyph_options)
        return Characters(glyphs, (glyphs,))
    parts = tuple(load_omniglot(path, progress=False) for path in source.paths)
    if source.kind == MINIMAL:
        from metakit.data.splits import union

        return Characters(union(*parts, name="omniglot/small1+small2"), parts)
    evaluation = load_omniglot(source.evaluation, progress=False) if source.evaluation else None
    return Characters(parts[0], parts, evaluation)
