"""Text collections for few-shot text classification: labelled strings, beside the image
character sets of :mod:`metakit.data.charset`.

* :func:`load_intents`: the kit's own collection (``data/intents/``: 48 user intents in 8 domains,
  40 hand-written utterances each, a fixed split of classes into meta-train and meta-test).
* :func:`load_text_file` (:func:`load_text_csv`, :func:`load_text_jsonl`): your own CSV or JSONL
  with a text column and a label column.
* :func:`from_hf_dataset` / :func:`load_hf_dataset`: a Hugging Face ``datasets`` dataset, when that
  package is installed and the dataset is already in the local cache (never downloads).

Episodes of a collection are sampled by :mod:`metakit.episodes.text`.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

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
