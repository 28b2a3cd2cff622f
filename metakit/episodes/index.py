"""Which classes and which items an episode uses: the one place episode indices are drawn.

Episode ``i`` of a sampler seeded with ``seed`` depends only on ``(seed, i)`` (:func:`episode_seed`),
so the same seed gives the same episodes whatever the batch size or the number of DataLoader
workers. Two layouts of the items, one interface (``indices(index)``):

* :class:`GridIndexer`: images ``[C, D, H, W]``, every class has the same ``D`` drawers; returns
  ``classes [N]`` and ``drawers [N, K+Q]`` (torch, drawn with a ``torch.Generator``).
* :class:`LabelIndexer`: items with labels ``[M]``, classes of any size (text, embeddings);
  returns ``classes [N]``, ``support [N, K]`` and ``query [N, Q]`` item indices (numpy, drawn with
  ``np.random.default_rng``).

The two draw from different generators, as they always have: a sampler gives the episodes it
gave before.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from metakit.data.text import TextDataError

_MIX_A = 0x9E3779B97F4A7C15
_MIX_B = 0xBF58476D1CE4E5B9
_MASK = (1 << 63) - 1


def episode_seed(seed: int, index: int) -> int:
    """A 63-bit seed for episode ``index`` of a sampler seeded with ``seed``."""
    x = (seed * _MIX_A + (index + 1) * _MIX_B) & _MASK
    x ^= x >> 31
    return (x * _MIX_A) & _MASK


class GridIndexer:
    """Episode indices over ``num_classes`` classes of ``drawers`` items each (an image array)."""

    def __init__(self, num_classes: int, drawers: int, ways: int, shots: int, queries: int, seed: int) -> None:
        self.num_classes, self.drawers = num_classes, drawers
        self.ways, self.shots, self.queries, self.seed = ways, shots, queries, int(seed)

    def indices(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Classes ``[N]`` and drawers ``[N, K+Q]`` of episode ``index`` (pure function of seed)."""
        gen = torch.Generator().manual_seed(episode_seed(self.seed, index))
        classes = torch.randperm(self.num_classes, generator=gen)[: self.ways]
        keys = torch.rand(self.ways, self.drawers, generator=gen)
        drawers = keys.argsort(dim=1)[:, : self.shots + self.queries]
        return classes, drawers


class LabelIndexer:
    """Episode indices over labelled items ``labels [M]``; ``shots`` may be a list of options."""

    def __init__(self, labels: np.ndarray, ways: int, shots: int | Sequence[int], queries: int, seed: int,
                 what: str) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        self.by_class = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1 if labels.size else 0)]
        self.classes = np.array([c for c, idx in enumerate(self.by_class) if idx.size > 0])
        shot_options = (int(shots),) if isinstance(shots, (int, np.integer)) else tuple(int(s) for s in shots)
        if ways < 1 or not shot_options or min(shot_options) < 1 or queries < 0:
            raise TextDataError(f"need ways >= 1, shots >= 1, queries >= 0; got {ways}, {shots}, {queries}")
        if ways > len(self.classes):
            raise TextDataError(f"{ways}-way episodes need {ways} classes but {what} has only {len(self.classes)}")
        smallest = min(self.by_class[c].size for c in self.classes)
        if max(shot_options) + queries > smallest:
            raise TextDataError(f"{max(shot_options)} shots + {queries} queries = "
                                f"{max(shot_options) + queries} items per class, but the smallest class "
                                f"of {what} has only {smallest}")
        self.ways, self.shot_options, self.queries, self.seed = ways, shot_options, queries, int(seed)

    def indices(self, index: int, shots: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``classes [N]``, ``support [N, K]`` and ``query [N, Q]`` item indices of episode ``index``."""
        rng = np.random.default_rng(episode_seed(self.seed, index))
        if shots is None:
            shots = self.shot_options[int(rng.integers(len(self.shot_options)))] \
                if len(self.shot_options) > 1 else self.shot_options[0]
        classes = self.classes[rng.permutation(len(self.classes))[: self.ways]]
        support = np.empty((self.ways, shots), dtype=np.int64)
        query = np.empty((self.ways, self.queries), dtype=np.int64)
        for way, c in enumerate(classes):
            items = self.by_class[c][rng.permutation(self.by_class[c].size)[: shots + self.queries]]
            support[way], query[way] = items[:shots], items[shots:]
        return classes, support, query
