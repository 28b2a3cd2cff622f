"""The official Omniglot release: its files (names, sizes, sha256, counts), its layout, its error type.

Shared by the reader (:mod:`metakit.data.layout`, :mod:`metakit.data.omniglot`), the downloader
(:mod:`metakit.data.download`) and the writer (:mod:`metakit.data.write`); import these names from
:mod:`metakit.data.omniglot`, which re-exports them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LAYOUT = "<root>/<Alphabet>/characterNN/<id>_<drawer>.png"
DOWNLOAD_COMMAND = "python -m metakit data omniglot --download"
"""The one command that fetches the official background and evaluation zips into the data folder."""
OFFICIAL_DRAWERS = 20


class OmniglotError(ValueError):
    """Bad Omniglot input: names the file, the folder or the numbers that are wrong."""


@dataclass(frozen=True)
class OfficialFile:
    """One zip of the official release: file name, size in bytes, sha256, and what it holds.

    ``characters`` and ``alphabets`` (None: unknown, not checked) are the counts
    :func:`~metakit.data.omniglot.read_omniglot` demands of a source named like this file (zip or unpacked folder).
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


def as_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path with ``~`` expanded (paths from arguments, the CLI and the environment)."""
    return Path(path).expanduser()
