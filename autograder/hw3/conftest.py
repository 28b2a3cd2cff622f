"""Shared pieces of hw3's hidden graders. Everything here runs in the grading process, which never
imports student code: it builds reference models (tiny BERTs, peft's LoRA) and data, and reads the
plain data that the student's worker sends back."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from metakit.grading import Ref, check

TINY = {"hidden": 32, "layers": 2, "heads": 2, "intermediate": 64}

# A toy 3-class problem the tiny BERT's word-hashing tokenizer separates easily.
TOY_TEXTS = ["red apple pie", "green apple tart", "sweet apple juice",
             "fast blue car", "old red car", "small electric car",
             "loud guitar song", "slow piano song", "happy birthday song"]
TOY_LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2], dtype=np.int64)


def tiny_model(student, num_classes: int = 3, seed: int = 0, **config) -> Ref:
    """A metakit tiny_classifier built in the student's worker (kit code, not the submission)."""
    return student.call("metakit.lm:tiny_classifier", num_classes, seed=seed, keep=True, **{**TINY, **config})


def reference_parameters(num_classes: int = 3, **config) -> "OrderedDict[str, int]":
    """Name -> number of scalars of every parameter of the same tiny classifier, built here."""
    from metakit.lm import tiny_classifier

    model = tiny_classifier(num_classes, **{**TINY, **config})
    return OrderedDict((name, p.numel()) for name, p in model.named_parameters())


def trainable_names(student, model: Ref) -> list[str]:
    info = student.call("metakit.grading.harness:parameter_info", model)
    return [name for name, i in info.items() if i["requires_grad"]]


def describe(names, limit: int = 6) -> str:
    names = list(names)
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")
    return shown or "none"


def compare_names(got, expected, what: str) -> None:
    """Fail with the missing and extra names when two collections of parameter names differ."""
    got, expected = list(got), list(expected)
    missing = [n for n in expected if n not in got]
    extra = [n for n in got if n not in expected]
    check(not missing and not extra,
          f"{what}: missing {describe(missing)}; not expected {describe(extra)}")


def torch_state(arrays: dict) -> dict:
    import torch

    return {k: torch.as_tensor(np.asarray(v), dtype=torch.float32) for k, v in arrays.items()}


def peft_linear_output(weight, bias, lora_a, lora_b, rank: int, alpha: float, x, grads: bool = False):
    """The output of peft's LoRA ``Linear`` for these matrices (and, with ``grads``, the gradients
    of ``output.sum()`` with respect to A, B and x): the independent reference."""
    import peft
    import torch
    from torch import nn

    torch.manual_seed(0)
    out_features, in_features = weight.shape
    base = nn.Sequential(OrderedDict(layer=nn.Linear(in_features, out_features)))
    with torch.no_grad():
        base.layer.weight.copy_(torch.as_tensor(weight))
        base.layer.bias.copy_(torch.as_tensor(bias))
    model = peft.get_peft_model(base, peft.LoraConfig(r=rank, lora_alpha=alpha, target_modules=["layer"],
                                                      lora_dropout=0.0))
    layer = model.base_model.model.layer
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(torch.as_tensor(lora_a))
        layer.lora_B["default"].weight.copy_(torch.as_tensor(lora_b))
    inputs = torch.as_tensor(np.asarray(x, dtype=np.float32)).requires_grad_(grads)
    output = model(inputs)
    if not grads:
        return output.detach().double().numpy()
    output.sum().backward()
    return (output.detach().double().numpy(), layer.lora_A["default"].weight.grad.double().numpy(),
            layer.lora_B["default"].weight.grad.double().numpy(), inputs.grad.double().numpy())


def synthetic_embeddings(num_classes: int, per_class: int, dim: int, seed: int, spread: float = 0.5):
    """Easy few-shot data: unit-norm class means in R^dim and Gaussian noise around them.

    Returns embeddings ``[C * per_class, dim]`` float32 and labels ``[C * per_class]`` (class-major).
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(num_classes, dim))
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    noise = rng.normal(size=(num_classes, per_class, dim)) * spread / np.sqrt(dim)
    x = (means[:, None, :] + noise).reshape(-1, dim).astype(np.float32)
    return x, np.repeat(np.arange(num_classes), per_class).astype(np.int64)


def synthetic_episodes(x: np.ndarray, y: np.ndarray, ways: int, shots: int, queries: int, count: int, seed: int):
    """``count`` way-major episodes as arrays: support [B, N*K, D], support labels [B, N*K],
    query [B, N*Q, D], query labels [B, N*Q]."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    support, query = [], []
    for _ in range(count):
        chosen = rng.choice(classes, size=ways, replace=False)
        s_rows, q_rows = [], []
        for c in chosen:
            items = rng.permutation(np.flatnonzero(y == c))[: shots + queries]
            s_rows.append(x[items[:shots]])
            q_rows.append(x[items[shots:]])
        support.append(np.concatenate(s_rows))
        query.append(np.concatenate(q_rows))
    support_labels = np.repeat(np.arange(ways), shots)[None].repeat(count, 0)
    query_labels = np.repeat(np.arange(ways), queries)[None].repeat(count, 0)
    return np.stack(support), support_labels.astype(np.int64), np.stack(query), query_labels.astype(np.int64)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
