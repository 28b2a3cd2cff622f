"""Few-shot text classification data: collections of labelled strings, and N-way k-shot episodes.

* :func:`load_intents`: the kit's own collection (``data/intents/``: 48 user intents in 8 domains,
  40 hand-written utterances each, a fixed split of classes into meta-train and meta-test).
* :func:`load_text_file` (:func:`load_text_csv`, :func:`load_text_jsonl`): your own CSV or JSONL
  with a text column and a label column.
* :func:`from_hf_dataset` / :func:`load_hf_dataset`: a Hugging Face ``datasets`` dataset, when that
  package is installed and the dataset is already in the local cache (never downloads).
* :class:`TextEpisodeSampler`: seeded N-way k-shot episodes of strings (like
  :class:`metakit.episodes.EpisodeSampler` for images); :class:`EmbeddingEpisodeSampler`: the same
  episodes over precomputed embeddings, batched, for meta-training on frozen features.

Episode ``i`` of a sampler depends only on ``(seed, i)``. Way ``j`` of an episode gets label ``j``;
the classes are drawn in a random order, so a class's label changes from episode to episode.
Support and query items are listed way-major: ``[way 0 x K, way 1 x K, ...]``.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from metakit.episodes import episode_seed
from metakit.paths import data_root

INTENTS_DIR = data_root() / "intents"


class TextDataError(ValueError):
    """A text collection cannot be read or used as asked; the message names the file or the numbers."""


# --------------------------------------------------------------------------- collection
@dataclass
class TextCollection:
    """Labelled strings: ``texts[i]`` belongs to class ``labels[i]`` (``class_names[labels[i]]``).

    ``class_info[c]`` holds optional metadata of class ``c`` (for the intents: ``domain``,
    ``split``, ``description``); ``source`` says where the data came from.
    """

    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    class_info: list[dict] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (len(self.texts),):
            raise TextDataError(f"{self.source or 'collection'}: {len(self.texts)} texts but labels of "
                                f"shape {list(self.labels.shape)}")
        if len(self.texts) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise TextDataError(f"{self.source or 'collection'}: labels must lie in [0, "
                                f"{len(self.class_names)}); got {self.labels.min()}..{self.labels.max()}")
        if not self.class_info:
            self.class_info = [{} for _ in self.class_names]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> np.ndarray:
        """Utterances per class ``[C]``."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def indices_by_class(self) -> list[np.ndarray]:
        """For every class, the indices of its texts (in file order)."""
        return [np.flatnonzero(self.labels == c) for c in range(self.num_classes)]

    def texts_of(self, name_or_index: str | int) -> list[str]:
        c = self.class_names.index(name_or_index) if isinstance(name_or_index, str) else int(name_or_index)
        return [self.texts[i] for i in np.flatnonzero(self.labels == c)]

    def subset(self, classes: Iterable[str | int]) -> "TextCollection":
        """Only the given classes (names or indices), relabelled ``0..len(classes)-1`` in that order."""
        wanted = [self.class_names.index(c) if isinstance(c, str) else int(c) for c in classes]
        if len(set(wanted)) != len(wanted):
            raise TextDataError("subset: a class is listed twice")
        remap = {old: new for new, old in enumerate(wanted)}
        keep = [i for i, y in enumerate(self.labels) if int(y) in remap]
        return TextCollection(
            texts=[self.texts[i] for i in keep],
            labels=np.array([remap[int(self.labels[i])] for i in keep], dtype=np.int64),
            class_names=[self.class_names[c] for c in wanted],
            class_info=[dict(self.class_info[c]) for c in wanted],
            source=self.source,
        )

    def split(self, name: str) -> "TextCollection":
        """The classes whose ``class_info["split"]`` is ``name`` (e.g. ``"train"`` or ``"test"``)."""
        chosen = [c for c, info in enumerate(self.class_info) if info.get("split") == name]
        if not chosen:
            found = sorted({str(info.get("split")) for info in self.class_info})
            raise TextDataError(f"{self.source or 'collection'}: no class has split {name!r} (found {found})")
        return self.subset(chosen)

    def summary(self) -> str:
        counts = self.counts()
        return (f"{len(self)} texts, {self.num_classes} classes, {counts.min()}-{counts.max()} per class"
                + (f" ({self.source})" if self.source else ""))


def _collect(pairs: Iterable[tuple[str, Any]], source: str, class_names: Sequence[str] | None = None) -> TextCollection:
    """Build a collection from (text, label) pairs; labels may be names or integers."""
    texts, raw = [], []
    for number, (text, label) in enumerate(pairs, start=1):
        if not isinstance(text, str) or not text.strip():
            raise TextDataError(f"{source}: item {number} has an empty or non-text text field ({text!r})")
        if label is None or (isinstance(label, str) and not label.strip()):
            raise TextDataError(f"{source}: item {number} ({text[:40]!r}) has no label")
        texts.append(text.strip())
        raw.append(label)
    if not texts:
        raise TextDataError(f"{source}: no labelled texts found")
    if class_names is not None:
        names = list(class_names)
        lookup = {name: i for i, name in enumerate(names)}
        labels = []
        for number, label in enumerate(raw, start=1):
            if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
                if not 0 <= int(label) < len(names):
                    raise TextDataError(f"{source}: item {number} has label {label}, outside 0..{len(names) - 1}")
                labels.append(int(label))
            elif str(label) in lookup:
                labels.append(lookup[str(label)])
            else:
                raise TextDataError(f"{source}: item {number} has label {label!r}, not one of the "
                                    f"{len(names)} class names")
    else:
        names = sorted({str(label) for label in raw}, key=_natural_key)
        lookup = {name: i for i, name in enumerate(names)}
        labels = [lookup[str(label)] for label in raw]
    return TextCollection(texts, np.array(labels, dtype=np.int64), names, source=source)


def _natural_key(name: str) -> tuple:
    return (0, int(name), "") if name.lstrip("-").isdigit() else (1, 0, name)


# --------------------------------------------------------------------------- the kit's intents
def load_intents(path: str | Path | None = None) -> TextCollection:
    """The kit's intent collection (``data/intents/``): 48 classes x 40 utterances.

    ``class_info[c]`` has ``domain``, ``split`` (``"train"``: meta-train, ``"test"``: meta-test)
    and ``description``. Use ``.split("train")`` / ``.split("test")``, or :func:`intent_splits`.
    """
    folder = Path(path) if path is not None else INTENTS_DIR
    classes_file, texts_file = folder / "classes.csv", folder / "utterances.jsonl"
    for f in (classes_file, texts_file):
        if not f.exists():
            raise TextDataError(f"the intent collection is incomplete: {f} is missing")
    with open(classes_file, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    needed = {"intent", "domain", "split", "description"}
    if not rows or not needed <= set(rows[0]):
        raise TextDataError(f"{classes_file}: needs the columns {sorted(needed)}")
    names = [r["intent"] for r in rows]
    collection = _collect(_jsonl_pairs(texts_file, "text", "intent"), str(texts_file), class_names=names)
    collection.class_info = [{"domain": r["domain"], "split": r["split"], "description": r["description"]}
                             for r in rows]
    collection.source = f"metakit intents ({folder})"
    return collection


def intent_splits(path: str | Path | None = None) -> tuple[TextCollection, TextCollection]:
    """``(meta_train, meta_test)``: the fixed split of the intent classes (32 and 16 classes)."""
    collection = load_intents(path)
    return collection.split("train"), collection.split("test")


# --------------------------------------------------------------------------- user files
def _jsonl_pairs(path: Path, text_key: str, label_key: str):
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TextDataError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(item, dict) or text_key not in item or label_key not in item:
                raise TextDataError(f"{path}, line {number}: needs the keys {text_key!r} and {label_key!r}")
            yield item[text_key], item[label_key]


def load_text_jsonl(path: str | Path, text_key: str = "text", label_key: str = "label") -> TextCollection:
    """One JSON object a line, e.g. ``{"text": "book a flight", "label": "travel"}``."""
    path = Path(path)
    if not path.exists():
        raise TextDataError(f"{path} does not exist")
    return _collect(_jsonl_pairs(path, text_key, label_key), str(path))


def load_text_csv(path: str | Path, text_column: str = "text", label_column: str = "label",
                  delimiter: str | None = None) -> TextCollection:
    """A CSV (or TSV) with a header row naming ``text_column`` and ``label_column``."""
    path = Path(path)
    if not path.exists():
        raise TextDataError(f"{path} does not exist")
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [c for c in (text_column, label_column) if c not in header]
        if missing:
            raise TextDataError(f"{path}: no column {missing[0]!r} in the header (found {header})")
        rows = list(reader)
    return _collect(((r[text_column], r[label_column]) for r in rows), str(path))


def load_text_file(path: str | Path, text: str = "text", label: str = "label") -> TextCollection:
    """A ``.csv``/``.tsv`` or ``.jsonl``/``.json`` file, chosen by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        return load_text_csv(path, text, label)
    if suffix in (".jsonl", ".json", ".ndjson"):
        return load_text_jsonl(path, text, label)
    raise TextDataError(f"{path}: unknown suffix {suffix!r}; use .csv, .tsv or .jsonl")


# --------------------------------------------------------------------------- Hugging Face datasets
def from_hf_dataset(dataset: Any, text_column: str = "text", label_column: str = "label") -> TextCollection:
    """A collection from a Hugging Face ``datasets.Dataset`` (or anything with ``column_names``,
    ``dataset[column]`` and, optionally, ``features[label_column].names`` for class names)."""
    columns = list(getattr(dataset, "column_names", []) or [])
    for column in (text_column, label_column):
        if column not in columns:
            raise TextDataError(f"the dataset has no column {column!r} (its columns: {columns})")
    texts, labels = list(dataset[text_column]), list(dataset[label_column])
    feature = getattr(dataset, "features", {}).get(label_column) if hasattr(dataset, "features") else None
    names = list(getattr(feature, "names", None) or []) or None
    source = f"Hugging Face dataset {getattr(getattr(dataset, 'info', None), 'dataset_name', '') or ''}".strip()
    collection = _collect(zip(texts, labels), source, class_names=names)
    if names:  # drop classes with no example in this split, keep the dataset's order
        present = [c for c in range(collection.num_classes) if (collection.labels == c).any()]
        if len(present) < collection.num_classes:
            collection = collection.subset(present)
    return collection


def load_hf_dataset(name: str, split: str = "train", text_column: str = "text", label_column: str = "label",
                    config: str | None = None, cache_dir: str | Path | None = None) -> TextCollection:
    """A dataset from the local Hugging Face cache (offline: ``HF_DATASETS_OFFLINE=1``).

    Needs the optional ``datasets`` package and a dataset that was downloaded before; raises a
    :class:`TextDataError` that says which is missing.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise TextDataError("loading a Hugging Face dataset needs the optional package `datasets` "
                            "(pip install datasets); or export it to CSV/JSONL and use load_text_file") from None
    try:
        dataset = datasets.load_dataset(name, config, split=split,
                                        cache_dir=str(cache_dir) if cache_dir else None)
    except Exception as exc:  # noqa: BLE001 - any failure offline means "not cached"
        raise TextDataError(f"the dataset {name!r} (split {split!r}) is not in the local Hugging Face "
                            f"cache and nothing is downloaded at run time: {exc}") from None
    return from_hf_dataset(dataset, text_column, label_column)


# --------------------------------------------------------------------------- episodes
class _EpisodeIndexer:
    """Which classes and which items an episode uses: a pure function of ``(seed, index)``."""

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


class TextEpisodeSampler:
    """Seeded N-way k-shot episodes of strings over a :class:`TextCollection`.

    ``episode(i)`` is a pure function of ``(seed, i)``; ``sample()`` walks the stream 0, 1, 2, ...
    ``shots`` may be a list of options: each episode then draws its k from them.
    """

    def __init__(self, collection: TextCollection, ways: int, shots: int | Sequence[int], queries: int,
                 seed: int = 0) -> None:
        self.collection = collection
        self.indexer = _EpisodeIndexer(collection.labels, ways, shots, queries, seed,
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

    def sample(self) -> TextEpisode:
        episode = self.episode(self._next)
        self._next += 1
        return episode

    def episodes(self, start: int, count: int) -> list[TextEpisode]:
        return [self.episode(i) for i in range(start, start + count)]

    def reset(self, position: int = 0) -> None:
        self._next = position


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


class EmbeddingEpisodeSampler:
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
        self.indexer = _EpisodeIndexer(labels, ways, shots, queries, seed, "these embeddings")
        self.ways, self.queries, self.seed = ways, queries, int(seed)
        self.device = torch.device(device)
        self.shuffle_features = shuffle_features
        self._next = 0

    def batch(self, start: int, count: int) -> EmbeddingEpisodes:
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

    def sample(self, batch_size: int) -> EmbeddingEpisodes:
        """The next ``batch_size`` episodes of the stream."""
        out = self.batch(self._next, batch_size)
        self._next += batch_size
        return out

    def reset(self, position: int = 0) -> None:
        self._next = position
