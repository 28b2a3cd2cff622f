"""metakit.textdata: the intent collection, user files, Hugging Face datasets, text episodes."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
import torch

from metakit.textdata import (
    EmbeddingEpisodeSampler,
    TextCollection,
    TextDataError,
    TextEpisodeSampler,
    from_hf_dataset,
    intent_splits,
    load_hf_dataset,
    load_intents,
    load_text_csv,
    load_text_file,
    load_text_jsonl,
)


@pytest.fixture(scope="module")
def intents() -> TextCollection:
    return load_intents()


def toy(classes: int = 6, per_class: int = 10) -> TextCollection:
    texts = [f"class {c} item {i}" for c in range(classes) for i in range(per_class)]
    labels = np.repeat(np.arange(classes), per_class)
    return TextCollection(texts, labels, [f"c{c}" for c in range(classes)], source="toy")


# --------------------------------------------------------------------------- the collection
def test_intents_size_and_balance(intents: TextCollection) -> None:
    assert intents.num_classes >= 40
    assert intents.counts().min() >= 40
    assert len(set(t.lower() for t in intents.texts)) == len(intents), "an utterance appears twice"
    assert len({info["domain"] for info in intents.class_info}) >= 6


def test_intents_fixed_split_is_disjoint_and_covers_domains(intents: TextCollection) -> None:
    train, test = intent_splits()
    assert train.num_classes + test.num_classes == intents.num_classes
    assert not set(train.class_names) & set(test.class_names)
    assert not set(train.texts) & set(test.texts)
    assert {i["domain"] for i in train.class_info} == {i["domain"] for i in test.class_info}
    assert (train.num_classes, test.num_classes) == (32, 16)
    assert all(info["split"] == "test" for info in test.class_info)


def test_intents_utterances_are_not_templates(intents: TextCollection) -> None:
    """Within a class, no 3-word opening starts more than a quarter of the utterances, no 2-word
    opening more than 30%, and the utterances have many different lengths."""
    for c in range(intents.num_classes):
        texts = [t.lower().split() for t in intents.texts_of(c)]
        for words, share in ((3, 0.25), (2, 0.30)):
            openings = [" ".join(t[:words]) for t in texts]
            most = max(openings.count(o) for o in set(openings))
            assert most <= share * len(texts), (intents.class_names[c], words, most)
        assert len({len(t) for t in texts}) >= 6, intents.class_names[c]


def test_subset_relabels_in_given_order() -> None:
    data = toy()
    sub = data.subset(["c4", 1])
    assert sub.class_names == ["c4", "c1"]
    assert sorted(set(sub.labels.tolist())) == [0, 1]
    assert all(t.startswith("class 4") for t in sub.texts_of(0))
    with pytest.raises(TextDataError, match="twice"):
        data.subset([1, 1])


def test_split_without_metadata_is_a_clear_error() -> None:
    with pytest.raises(TextDataError, match="no class has split 'train'"):
        toy().split("train")


def test_collection_checks_labels() -> None:
    with pytest.raises(TextDataError, match="labels must lie"):
        TextCollection(["a", "b"], [0, 3], ["x", "y"])
    with pytest.raises(TextDataError, match="2 texts but labels"):
        TextCollection(["a", "b"], [0], ["x"])


# --------------------------------------------------------------------------- user files
def test_csv_and_jsonl_loaders(tmp_path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text('text,label\n"hello, there",greet\nbye now,leave\nhi,greet\n')
    data = load_text_csv(csv_path)
    assert data.class_names == ["greet", "leave"]
    assert data.texts[0] == "hello, there" and data.labels.tolist() == [0, 1, 0]
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text("\n".join(json.dumps({"utterance": t, "y": y}) for t, y in
                               [("a", 2), ("b", 10), ("c", 2)]) + "\n")
    data = load_text_file(jsonl, text="utterance", label="y")
    assert data.class_names == ["2", "10"], "numeric labels sort as numbers"
    assert load_text_file(csv_path).texts == load_text_csv(csv_path).texts


def test_tsv_is_read_with_tabs(tmp_path) -> None:
    path = tmp_path / "mine.tsv"
    path.write_text("label\ttext\nx\tone, two\ny\tthree\n")
    assert load_text_file(path).texts == ["one, two", "three"]


def test_user_file_errors_name_the_file_and_line(tmp_path) -> None:
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "a", "label": "x"}\n{"text": "b", label}\n')
    with pytest.raises(TextDataError, match=r"bad.jsonl, line 2: not valid JSON"):
        load_text_jsonl(bad_json)
    missing_key = tmp_path / "missing.jsonl"
    missing_key.write_text('{"text": "a"}\n')
    with pytest.raises(TextDataError, match="line 1: needs the keys"):
        load_text_jsonl(missing_key)
    no_column = tmp_path / "cols.csv"
    no_column.write_text("sentence,label\nhi,x\n")
    with pytest.raises(TextDataError, match="no column 'text'.*sentence"):
        load_text_csv(no_column)
    empty_text = tmp_path / "empty.csv"
    empty_text.write_text("text,label\n ,x\n")
    with pytest.raises(TextDataError, match="item 1 has an empty"):
        load_text_csv(empty_text)
    with pytest.raises(TextDataError, match="unknown suffix"):
        load_text_file(tmp_path / "data.parquet")
    with pytest.raises(TextDataError, match="does not exist"):
        load_text_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- Hugging Face datasets
class FakeDataset:
    """What from_hf_dataset uses of a datasets.Dataset: column_names, [column], features."""

    def __init__(self, texts, labels, names=None):
        self._columns = {"sentence": texts, "intent": labels}
        self.column_names = list(self._columns)
        self.features = {"intent": types.SimpleNamespace(names=names)} if names else {}

    def __getitem__(self, column):
        return self._columns[column]


def test_from_hf_dataset_uses_class_names_and_drops_absent_classes() -> None:
    fake = FakeDataset(["a", "b", "c"], [2, 0, 2], names=["greet", "leave", "pay"])
    data = from_hf_dataset(fake, text_column="sentence", label_column="intent")
    assert data.class_names == ["greet", "pay"]
    assert data.texts_of("pay") == ["a", "c"]


def test_from_hf_dataset_without_names_and_bad_column() -> None:
    fake = FakeDataset(["a", "b"], ["x", "y"])
    assert from_hf_dataset(fake, "sentence", "intent").class_names == ["x", "y"]
    with pytest.raises(TextDataError, match="no column 'text'"):
        from_hf_dataset(fake)


def test_load_hf_dataset_without_the_package(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(TextDataError, match="pip install datasets"):
        load_hf_dataset("banking77")


def test_load_hf_dataset_reads_the_cache_and_reports_a_miss(monkeypatch) -> None:
    calls = []

    def load_dataset(name, config, split, cache_dir):
        calls.append((name, split))
        if name == "missing":
            raise FileNotFoundError("not cached")
        return FakeDataset(["hi", "bye"], [0, 1], names=["greet", "leave"])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    data = load_hf_dataset("toy", split="test", text_column="sentence", label_column="intent")
    assert data.class_names == ["greet", "leave"] and calls == [("toy", "test")]
    with pytest.raises(TextDataError, match="not in the local Hugging Face cache"):
        load_hf_dataset("missing")


# --------------------------------------------------------------------------- episodes
def test_text_episodes_are_seeded_way_major_and_disjoint(intents: TextCollection) -> None:
    sampler = TextEpisodeSampler(intents, ways=5, shots=3, queries=4, seed=7)
    first, again = sampler.episode(11), TextEpisodeSampler(intents, 5, 3, 4, seed=7).episode(11)
    assert first.support_texts == again.support_texts and first.query_texts == again.query_texts
    assert TextEpisodeSampler(intents, 5, 3, 4, seed=8).episode(11).support_texts != first.support_texts
    assert len(first.support_texts) == 15 and len(first.query_texts) == 20
    assert first.support_labels.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3
    assert first.query_labels.tolist() == [w for w in range(5) for _ in range(4)]
    assert len(set(first.classes.tolist())) == 5
    assert not set(first.support_index.tolist()) & set(first.query_index.tolist())
    for text, label in zip(first.support_texts + first.query_texts,
                           first.support_labels.tolist() + first.query_labels.tolist()):
        assert text in intents.texts_of(int(first.classes[label]))
    assert first.class_names == [intents.class_names[c] for c in first.classes.tolist()]
    assert first.support == (first.support_texts, first.support_labels)
    assert "label 0" in first.show()


def test_text_sampler_stream_and_label_shuffle(intents: TextCollection) -> None:
    sampler = TextEpisodeSampler(intents, ways=5, shots=1, queries=1, seed=0)
    stream = [sampler.sample() for _ in range(3)]
    assert [e.support_texts for e in stream] == [sampler.episode(i).support_texts for i in range(3)]
    first_way = {int(sampler.episode(i).classes[0]) for i in range(30)}
    assert len(first_way) > 5, "label 0 should go to a different class from episode to episode"


def test_text_sampler_errors(intents: TextCollection) -> None:
    with pytest.raises(TextDataError, match="50-way episodes need 50 classes"):
        TextEpisodeSampler(intents, ways=50, shots=1, queries=1)
    with pytest.raises(TextDataError, match="35 shots \\+ 10 queries = 45 items per class.*only 40"):
        TextEpisodeSampler(intents, ways=5, shots=35, queries=10)
    with pytest.raises(TextDataError, match="shots >= 1"):
        TextEpisodeSampler(intents, ways=5, shots=0, queries=1)


def test_shot_options_give_episodes_of_each_size() -> None:
    sampler = TextEpisodeSampler(toy(), ways=3, shots=(1, 4), queries=2, seed=3)
    sizes = {sampler.episode(i).shots for i in range(40)}
    assert sizes == {1, 4}
    assert sampler.episode(0, shots=2).shots == 2


def test_embedding_episodes_match_text_episodes() -> None:
    data = toy(classes=6, per_class=12)
    embeddings = torch.randn(len(data), 8)
    texts = TextEpisodeSampler(data, ways=4, shots=2, queries=3, seed=5)
    batch = EmbeddingEpisodeSampler(embeddings, data.labels, ways=4, shots=2, queries=3, seed=5).batch(10, 3)
    assert batch.support.shape == (3, 8, 8) and batch.query.shape == (3, 12, 8)
    assert batch.support_labels.shape == (3, 8) and batch.query_labels.shape == (3, 12)
    assert (batch.ways, batch.shots) == (4, 2)
    for b in range(3):
        episode = texts.episode(10 + b)
        assert torch.equal(batch.support[b], embeddings[episode.support_index])
        assert torch.equal(batch.query[b], embeddings[episode.query_index])
        assert torch.equal(batch.support_labels[b], episode.support_labels)
        assert torch.equal(batch.classes[b], episode.classes)


def test_embedding_sampler_mixed_shots_and_stream() -> None:
    data = toy(classes=5, per_class=20)
    sampler = EmbeddingEpisodeSampler(np.random.default_rng(0).normal(size=(100, 4)), data.labels,
                                      ways=3, shots=(1, 2, 8), queries=2, seed=1)
    shots = {sampler.sample(4).shots for _ in range(30)}
    assert shots == {1, 2, 8}
    sampler.reset()
    a = sampler.sample(2)
    sampler.reset()
    assert torch.equal(a.support, sampler.sample(2).support)
    assert a.to("cpu").support.dtype == torch.float32


def test_embedding_sampler_shape_error() -> None:
    with pytest.raises(TextDataError, match=r"embeddings \[M, D\] and labels \[M\]"):
        EmbeddingEpisodeSampler(torch.zeros(10, 4), np.zeros(9, dtype=int), ways=1, shots=1, queries=1)


def test_shuffle_features_keeps_dot_products_and_changes_coordinates() -> None:
    data = toy(classes=5, per_class=10)
    embeddings = torch.randn(50, 6)
    plain = EmbeddingEpisodeSampler(embeddings, data.labels, ways=3, shots=2, queries=2, seed=4).batch(0, 4)
    shuffled = EmbeddingEpisodeSampler(embeddings, data.labels, ways=3, shots=2, queries=2, seed=4,
                                       shuffle_features=True).batch(0, 4)
    assert torch.equal(plain.classes, shuffled.classes)
    gram = lambda e: torch.cat([e.support, e.query], 1) @ torch.cat([e.support, e.query], 1).transpose(1, 2)
    assert torch.allclose(gram(plain), gram(shuffled), atol=1e-5)
    assert not torch.allclose(plain.support, shuffled.support)
    assert not torch.allclose(shuffled.support[0] @ shuffled.support[1].T,
                              plain.support[0] @ plain.support[1].T), "each episode gets its own basis"
    assert torch.allclose(shuffled.support.abs().sort(-1).values, plain.support.abs().sort(-1).values)
