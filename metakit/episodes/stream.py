"""The interface every episode sampler shares (images, text, embeddings).

A sampler is a pure function of ``(seed, index)`` plus a position in its stream:

* ``episodes(start, count)``: episodes ``start .. start+count-1`` (the same whatever was sampled
  before);
* ``sample(batch_size)``: the next ``batch_size`` episodes of the stream, which then moves on;
* ``batches(batch_size, count)``: ``count`` such batches (forever when None);
* ``reset(position)``: rewind (or skip) the stream to episode ``position``.

What one batch is depends on the data: :class:`~metakit.episodes.images.Episodes` (tensors
``[B, N, K, 28, 28]``), a list of :class:`~metakit.episodes.text.TextEpisode`, or
:class:`~metakit.episodes.text.EmbeddingEpisodes` (tensors ``[B, N*K, D]``).
"""
from __future__ import annotations

from typing import Any, Iterator


class EpisodeStream:
    """Base of the samplers: subclasses give :meth:`episodes`; the stream methods come from here."""

    _next: int = 0

    def episodes(self, start: int, count: int) -> Any:
        """Episodes ``start .. start+count-1`` as one batch."""
        raise NotImplementedError

    def sample(self, batch_size: int) -> Any:
        """The next ``batch_size`` episodes of this sampler's stream."""
        batch = self.episodes(self._next, batch_size)
        self._next += batch_size
        return batch

    def batches(self, batch_size: int, count: int | None = None) -> Iterator[Any]:
        """Yield ``count`` batches (forever when None) from the stream."""
        produced = 0
        while count is None or produced < count:
            yield self.sample(batch_size)
            produced += 1

    def reset(self, position: int = 0) -> None:
        """Rewind (or skip) the stream to episode ``position``."""
        self._next = position
