"""The old home of hw3's text data, kept so ``from metakit.textdata import ...`` keeps working.

The collections and their loaders live in :mod:`metakit.data.text` (beside the image character
sets); the episode samplers in :mod:`metakit.episodes.text`.
"""
from metakit.data.text import (INTENTS_DIR, TextCollection, TextDataError, from_hf_dataset, intent_splits,
                               load_hf_dataset, load_intents, load_text_csv, load_text_file, load_text_jsonl)
from metakit.episodes.index import LabelIndexer as _EpisodeIndexer  # noqa: F401 - the old private name
from metakit.episodes.text import EmbeddingEpisodes, EmbeddingEpisodeSampler, TextEpisode, TextEpisodeSampler

__all__ = [
    "INTENTS_DIR", "EmbeddingEpisodeSampler", "EmbeddingEpisodes", "TextCollection", "TextDataError", "TextEpisode",
    "TextEpisodeSampler", "from_hf_dataset", "intent_splits", "load_hf_dataset", "load_intents", "load_text_csv",
    "load_text_file", "load_text_jsonl",
]
