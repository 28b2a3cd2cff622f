"""The one in-memory form every dataset takes: a uint8 array of characters x drawers.

A :class:`CharacterSet` holds ``images`` of shape ``[C, D, 28, 28]`` (C characters, D drawers,
usually 20; strokes = 1, background = 0, stored as uint8 0/255 intensities) and a manifest with
one entry per character (alphabet, character name, source files or generator metadata), always in
sorted order, so the same files give the same array on every machine.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

IMAGE_SIZE = 28


@dataclass(frozen=True)
class CharacterSet:
    """Characters x drawers images plus a manifest.

    Attributes:
        images: uint8 ``[C, D, 28, 28]``; 255 where there is ink, 0 elsewhere (antialiased edges
            take values in between).
        manifest: one dict per character with at least ``alphabet`` and ``character``; Omniglot adds
            ``files`` (the D source file names), glyphs add generator metadata (``strokes``, ...).
        name: a short description of where the data came from.
    """

    images: np.ndarray
    manifest: list[dict[str, Any]]
    name: str = "characters"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"CharacterSet.images must be uint8 [C, D, H, W]; got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if len(self.manifest) != self.images.shape[0]:
            raise ValueError(
                f"manifest has {len(self.manifest)} entries for {self.images.shape[0]} characters"
            )

    @property
    def num_characters(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_drawers(self) -> int:
        return int(self.images.shape[1])

    @property
    def alphabets(self) -> list[str]:
        """Alphabet names in sorted order, each once."""
        return sorted({entry["alphabet"] for entry in self.manifest})

    def alphabet_of(self) -> np.ndarray:
        """``[C]`` int64: index into :attr:`alphabets` of each character's alphabet."""
        index = {name: i for i, name in enumerate(self.alphabets)}
        return np.array([index[e["alphabet"]] for e in self.manifest], dtype=np.int64)

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> "CharacterSet":
        """The characters at ``indices`` (in that order), as a new CharacterSet."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_characters):
            raise IndexError(
                f"character index out of range 0..{self.num_characters - 1}: "
                f"min {idx.min()}, max {idx.max()}"
            )
        return CharacterSet(
            images=self.images[idx],
            manifest=[self.manifest[i] for i in idx.tolist()],
            name=name or self.name,
            info=dict(self.info),
        )

    def summary(self) -> str:
        c, d, h, w = self.images.shape
        return (
            f"{self.name}: {c} characters x {d} drawers of {h}x{w} "
            f"in {len(self.alphabets)} alphabets ({self.images.nbytes / 2**20:.1f} MiB uint8)"
        )

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<path>.npz`` (images) and ``<path>.json`` (manifest) atomically."""
        base = Path(path)
        base.parent.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "info": self.info, "manifest": self.manifest}
        _atomic_write(base.with_suffix(".json"), json.dumps(meta, indent=1).encode())
        buffer = _npz_bytes(images=self.images)
        _atomic_write(base.with_suffix(".npz"), buffer)
        return base

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CharacterSet":
        base = Path(path)
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as data:
            images = data["images"]
        meta = json.loads(base.with_suffix(".json").read_text())
        return cls(images=images, manifest=meta["manifest"], name=meta["name"], info=meta["info"])


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
