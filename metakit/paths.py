"""Where things live: the repository, the cache, and the real Omniglot beside the repo."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def data_root() -> Path:
    """The kit's own data folder (``data/``): ``$METAKIT_DATA_DIR``, else the one beside the package
    (a checkout, or the kit folder inside a Gradescope autograder)."""
    override = os.environ.get("METAKIT_DATA_DIR")
    return Path(override).expanduser() if override else REPO_ROOT / "data"


def cache_dir() -> Path:
    """Folder for built data caches: ``$METAKIT_CACHE`` or ``~/.cache/metakit`` (``~`` expanded)."""
    root = os.environ.get("METAKIT_CACHE")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "metakit"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_omniglot_dir() -> Path:
    """The two official minimal Omniglot splits kept beside the repository (never inside it).

    ``$METAKIT_OMNIGLOT`` overrides the default ``<repo>/../shared/omniglot``.
    """
    override = os.environ.get("METAKIT_OMNIGLOT")
    return Path(override).expanduser() if override else REPO_ROOT.parent / "shared" / "omniglot"
