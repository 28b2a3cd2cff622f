"""N-way k-shot episodes of strings (:class:`TextEpisodeSampler`) and of precomputed embeddings
(:class:`EmbeddingEpisodeSampler`, batched, for meta-training on frozen features), over the text
collections of :mod:`metakit.data.text`.

Episode ``i`` of a sampler depends only on ``(seed, i)`` (:class:`~metakit.episodes.index.LabelIndexer`).
Way ``j`` of an episode gets label ``j``; the classes are drawn in a random order, so a class's
label changes from episode to episode. Support and query items are listed way-major:
``[way 0 x K, way 1 x K, ...]``. Both samplers follow :class:`~metakit.episodes.stream.EpisodeStream`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from metakit.data.text import TextCollection, TextDataError
from metakit.episodes.index import LabelIndexer, episode_seed
from metakit.episodes.stream import EpisodeStream


@dataclass
class TextEpisode:
    """One N-way k-shot episode of strings, way-major (way ``j`` has label ``j``).

    ``support_texts`` (``N*K`` strings), ``support_labels [N*K]``, ``query_texts`` (``N*Q``),
    ``query_labels [N*Q]`` (int64 tensors), ``classes [N]`` (class index of each way in the
    collection), ``class_names`` (``N`` names), ``support_index [N*K]``/``query_index [N*Q]``
    (item indices in the collection, e.g. to look up precomputed embeddings).
    """

    support_texts: list[str]
    support_labels: torch.Tensor
    query_texts: list[str]
    query_labels: torch.Tensor
    classes: torch.Tensor
    class_names: list[str]
    support_index: torch.Tensor
    query_index: torch.Tensor

    @property
    def ways(self) -> int:
        return len(self.class_names)

    @property
    def shots(self) -> int:
        return len(self.support_texts) // max(1, self.ways)

    @property
    def support(self) -> tuple[list[str], torch.Tensor]:
        """``(support_texts, support_labels)``: what a fine-tuning loop trains on."""
        return self.support_texts, self.support_labels

    def show(self, max_per_way: int = 3) -> str:
        lines = [f"{self.ways}-way {self.shots}-shot episode, {len(self.query_texts)} queries"]
        for way, name in enumerate(self.class_names):
            examples = [t for t, y in zip(self.support_texts, self.support_labels.tolist()) if y == way]
            lines.append(f"  label {way} = {name}: " + " | ".join(examples[:max_per_way])
                         + (" | ..." if len(examples) > max_per_way else ""))
        return "\n".join(lines)


class TextEpisodeSampler(EpisodeStream):
    """Seeded N-way k-shot episodes of strings over a :class:`TextCollection`.

    ``episode(i)`` is a pure function of ``(seed, i)``; ``sample()`` walks the stream 0, 1, 2, ...
    one episode at a time, ``sample(batch_size)`` a list of them (the interface of
    :class:`~metakit.episodes.stream.EpisodeStream`). ``shots`` may be a list of options: each
    episode then draws its k from them.
    """

    def __init__(self, collection: TextCollection, ways: int, shots: int | Sequence[int], queries: int,
                 seed: int = 0) -> None:
        self.collection = collection
        self.indexer = LabelIndexer(collection.labels, ways, shots, queries, seed,
                                       collection.source or "this collection")
        self.ways, self.queries, self.seed = ways, queries, int(seed)
        self._next = 0

    def episode(self, index: int, shots: int | None = None) -> TextEpisode:
        classes, support, query = self.indexer.indices(index, shots)
        n, k, q = support.shape[0], support.shape[1], query.shape[1]
        texts = self.collection.texts
        return TextEpisode(
            support_texts=[texts[i] for i in support.reshape(-1)],
            support_labels=torch.arange(n).repeat_interleave(k),
            query_texts=[texts[i] for i in query.reshape(-1)],
            query_labels=torch.arange(n).repeat_interleave(q),
            classes=torch.as_tensor(classes, dtype=torch.long),
            class_names=[self.collection.class_names[c] for c in classes],
            support_index=torch.as_tensor(support.reshape(-1)),
            query_index=torch.as_tensor(query.reshape(-1)),
        )

    def episodes(self, start: int, count: int) -> list[TextEpisode]:
        """Episodes ``start .. start+count-1``."""
        return [self.episode(i) for i in range(start, start + count)]

    def sample(self, batch_size: int | None = None) -> TextEpisode | list[TextEpisode]:
        """The next episode of the stream (None), or a list of the next ``batch_size``."""
        if batch_size is not None:
            return super().sample(batch_size)
        episode = self.episode(self._next)
        self._next += 1
        return episode


@dataclass
class EmbeddingEpisodes:
    """A batch of ``B`` episodes over precomputed embeddings (way-major within each episode).

    ``support [B, N*K, D]``, ``support_labels [B, N*K]``, ``query [B, N*Q, D]``,
    ``query_labels [B, N*Q]``, ``classes [B, N]``.
    """

    support: torch.Tensor
    support_labels: torch.Tensor
    query: torch.Tensor
    query_labels: torch.Tensor
    classes: torch.Tensor

    @property
    def ways(self) -> int:
        return int(self.classes.shape[1])

    @property
    def shots(self) -> int:
        return int(self.support.shape[1]) // self.ways

    def to(self, device: torch.device | str) -> "EmbeddingEpisodes":
        return EmbeddingEpisodes(*(t.to(device) for t in (self.support, self.support_labels, self.query,
                                                           self.query_labels, self.classes)))


class EmbeddingEpisodeSampler(EpisodeStream):
    """Batches of N-way k-shot episodes over embeddings ``[M, D]`` with labels ``[M]``.

    The same episodes as a :class:`TextEpisodeSampler` with the same labels and seed, as tensors:
    use it to meta-train on frozen sentence embeddings. ``shots`` may be a list of options: each
    *batch* draws one k (all its episodes share it, so they stack).

    ``shuffle_features=True`` is task augmentation for meta-training (like rotating Omniglot
    characters into new classes): every episode's embeddings are written in a new random basis,
    a random permutation of the ``D`` coordinates with random signs, the same for its support
    and query. Dot products and distances within an episode are unchanged, so the episode is as
    solvable as before, but a meta-learner can no longer memorise the meta-training classes by
    where their embeddings lie: it has to compare the query with the support.
    """

    def __init__(self, embeddings: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | Sequence[int],
                 ways: int, shots: int | Sequence[int], queries: int, seed: int = 0,
                 device: torch.device | str = "cpu", shuffle_features: bool = False) -> None:
        self.embeddings = torch.as_tensor(np.asarray(embeddings) if not torch.is_tensor(embeddings) else embeddings)
        self.embeddings = self.embeddings.detach().float()
        labels = np.asarray(labels.cpu() if torch.is_tensor(labels) else labels, dtype=np.int64)
        if self.embeddings.ndim != 2 or self.embeddings.shape[0] != labels.shape[0]:
            raise TextDataError(f"EmbeddingEpisodeSampler wants embeddings [M, D] and labels [M]; got "
                                f"{list(self.embeddings.shape)} and {list(labels.shape)}")
        self.indexer = LabelIndexer(labels, ways, shots, queries, seed, "these embeddings")
        self.ways, self.queries, self.seed = ways, queries, int(seed)
        self.device = torch.device(device)
        self.shuffle_features = shuffle_features
        self._next = 0

    def episodes(self, start: int, count: int) -> EmbeddingEpisodes:
        """Episodes ``start .. start+count-1``; their k is drawn from episode ``start``'s seed."""
        rng = np.random.default_rng(episode_seed(self.seed + 7919, start))
        options = self.indexer.shot_options
        shots = options[int(rng.integers(len(options)))]
        picks = [self.indexer.indices(i, shots) for i in range(start, start + count)]
        classes = torch.as_tensor(np.stack([c for c, _, _ in picks]))
        support_idx = torch.as_tensor(np.stack([s.reshape(-1) for _, s, _ in picks]))
        query_idx = torch.as_tensor(np.stack([q.reshape(-1) for _, _, q in picks]))
        n, q = self.ways, self.queries
        support, query = self.embeddings[support_idx], self.embeddings[query_idx]
        if self.shuffle_features:
            support, query = self._new_basis(support, query, start)
        return EmbeddingEpisodes(
            support=support.to(self.device),
            support_labels=torch.arange(n).repeat_interleave(shots).expand(count, -1).contiguous().to(self.device),
            query=query.to(self.device),
            query_labels=torch.arange(n).repeat_interleave(q).expand(count, -1).contiguous().to(self.device),
            classes=classes.to(self.device),
        )

    def _new_basis(self, support: torch.Tensor, query: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Permute and sign-flip the last axis of ``[B, *, D]`` tensors, one basis per episode."""
        count, dim = support.shape[0], support.shape[-1]
        gen = torch.Generator().manual_seed(episode_seed(self.seed + 104729, start))
        order = torch.rand(count, dim, generator=gen).argsort(dim=1)
        signs = torch.randint(0, 2, (count, 1, dim), generator=gen).float() * 2 - 1

        def change(x: torch.Tensor) -> torch.Tensor:
            return torch.gather(x, 2, order.unsqueeze(1).expand(-1, x.shape[1], -1)) * signs

        return change(support), change(query)

    batch = episodes
    """The old name of :meth:`episodes` (notebooks and graders call it)."""
