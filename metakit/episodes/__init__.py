"""N-way K-shot episodes, sampled in memory: images, text and embeddings behind one interface.

* :mod:`.images`: :class:`EpisodeSampler` over a ``[C, D, 28, 28]`` uint8 character array
  (batches of :class:`Episodes`, ``support [B, N, K, 28, 28]``), its DataLoader form
  (:class:`EpisodeDataset`, :func:`collate_episodes`);
* :mod:`.text`: :class:`TextEpisodeSampler` (strings) and :class:`EmbeddingEpisodeSampler`
  (precomputed embeddings ``[M, D]``) over the collections of :mod:`metakit.data.text`;
* :mod:`.stream`: :class:`EpisodeStream`, the interface all three share (``episodes(start,
  count)``, ``sample(batch_size)``, ``batches``, ``reset``);
* :mod:`.index`: the one place episode indices are drawn (:func:`episode_seed`,
  :class:`GridIndexer`, :class:`LabelIndexer`); episode ``i`` depends only on ``(seed, i)``;
* :mod:`.augment`: random small affine distortions of training images (:class:`AffineJitter`).
"""
from metakit.episodes.augment import AffineJitter, warp
from metakit.episodes.images import EpisodeDataset, Episodes, EpisodeSampler, collate_episodes
from metakit.episodes.index import GridIndexer, LabelIndexer, episode_seed
from metakit.episodes.stream import EpisodeStream
from metakit.episodes.text import EmbeddingEpisodes, EmbeddingEpisodeSampler, TextEpisode, TextEpisodeSampler

__all__ = [
    "AffineJitter", "EmbeddingEpisodeSampler", "EmbeddingEpisodes", "EpisodeDataset", "EpisodeSampler",
    "EpisodeStream", "Episodes", "GridIndexer", "LabelIndexer", "TextEpisode", "TextEpisodeSampler",
    "collate_episodes", "episode_seed", "warp",
]
