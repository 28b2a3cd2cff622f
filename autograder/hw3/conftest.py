"""Shared pieces of hw3's hidden graders. Everything here runs in the grading process, which never
imports student code: it builds reference models (tiny BERTs, peft's LoRA) and data, and reads the
plain data that the student's worker sends back."""
from __future__ import annotations

import re
from collections import OrderedDict
from functools import lru_cache

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


# --------------------------------------------------------------------------- grading-process references
# Everything below runs here, in the grading process, from plain data: the grader's own LoRA layer,
# its own fine-tuning loop (the one the notebook's Part 3 specifies) and its own forward pass.
# Nothing here calls the submission, and nothing of it ever runs in the student's worker.

def local_tiny(num_classes: int = 3, seed: int = 0, **config):
    """The same tiny classifier the worker builds with ``tiny_model``, built here."""
    from metakit.lm import tiny_classifier

    return tiny_classifier(num_classes, seed=seed, **{**TINY, **config})


def verified_tiny(student, num_classes: int = 3, seed: int = 0, **config) -> Ref:
    """``tiny_model`` in the worker, checked against the same model built here (a submission that
    patched the kit's constructor gets a message instead of a silently different model)."""
    model = tiny_model(student, num_classes, seed=seed, **config)
    expected = local_state(num_classes, seed, tuple(sorted(config.items())))
    got = student.call("metakit.grading.harness:state_arrays", model)
    same = set(got) == set(expected) and all(np.array_equal(np.asarray(got[k]), expected[k]) for k in expected)
    check(same, "the tiny classifier built with metakit.lm.tiny_classifier is not the kit's model in your "
                "process: does your code change metakit's functions or torch's modules when it loads?")
    return model


@lru_cache(maxsize=16)
def local_state(num_classes: int, seed: int, config: tuple) -> dict:
    """The floating-point state (float64 arrays) of ``local_tiny(num_classes, seed, **dict(config))``."""
    model = local_tiny(num_classes, seed, **dict(config))
    return {k: v.detach().double().numpy() for k, v in model.state_dict().items() if v.is_floating_point()}


class GraderLoRA:
    """Namespace for the grader's own LoRA layer (built lazily so that importing conftest stays cheap)."""

    @staticmethod
    def layer(base, a, b, scaling: float):
        import torch
        from torch import nn

        class _LoRA(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.base = base
                for p in base.parameters():
                    p.requires_grad_(False)
                self.lora_A = nn.Parameter(torch.as_tensor(np.asarray(a), dtype=base.weight.dtype).clone())
                self.lora_B = nn.Parameter(torch.as_tensor(np.asarray(b), dtype=base.weight.dtype).clone())
                self.scaling = scaling

            def forward(self, x):
                return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling

        return _LoRA()


def grader_inject(model, lora: dict, scaling: float) -> list[str]:
    """Wrap the layers of ``model`` named by ``lora`` (``"<module name>.lora_A"`` -> array, and
    ``.lora_B``) with the grader's LoRA layer holding those matrices; returns the wrapped names."""
    names = sorted({key.rsplit(".", 1)[0] for key in lora})
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        base = getattr(parent, child)
        setattr(parent, child, GraderLoRA.layer(base, lora[f"{name}.lora_A"], lora[f"{name}.lora_B"], scaling))
    return names


def grader_choose(model, mode: str) -> list:
    """The parameters the notebook's Part 1 says ``mode`` trains (model order), others frozen."""
    import re

    blocks = model.encoder.encoder.layer
    head = {id(p) for p in model.head.parameters()}
    if mode == "head":
        wanted = head
    elif mode == "all":
        wanted = {id(p) for p in model.parameters()}
    elif mode == "lora":
        wanted = head | {id(p) for n, p in model.named_parameters() if "lora_" in n}
    elif re.fullmatch(r"last\d+", mode):
        k = int(mode[4:])
        wanted = head | {id(p) for block in blocks[len(blocks) - k:] for p in block.parameters()}
    else:
        raise ValueError(mode)
    for p in model.parameters():
        p.requires_grad_(id(p) in wanted)
    return [p for p in model.parameters() if id(p) in wanted]


def grader_finetune(model, texts, labels, mode: str, steps: int, lr: float, head_lr: float, batch_size: int,
                    seed: int) -> list[float]:
    """The fine-tuning loop of the notebook's Part 3, written by the grader, run here on one thread."""
    import torch
    import torch.nn.functional as F

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        params = grader_choose(model, mode)
        head = {id(p) for p in model.head.parameters()}
        groups = [{"params": [p for p in params if id(p) in head], "lr": head_lr}]
        body = [p for p in params if id(p) not in head]
        if body:
            groups.append({"params": body, "lr": lr})
        optimizer = torch.optim.AdamW(groups, weight_decay=0.0, foreach=False)
        return grader_steps(model, optimizer, steps, len(texts), batch_size, seed,
                            lambda batch: F.cross_entropy(model([texts[i] for i in batch]), labels[batch]))
    finally:
        torch.set_num_threads(threads)


def grader_steps(model, optimizer, steps: int, size: int, batch_size: int, seed: int, loss_of) -> list[float]:
    """The loop both fine-tunings of the notebook share (Part 3 and Part 7): model.train(); each step the
    minibatch torch.randperm(size, generator=g)[:batch_size] with g = torch.Generator().manual_seed(seed) made
    once, loss_of(its indices as a list), zero_grad, backward, one step; model.eval(). Returns the losses."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    for _ in range(steps):
        loss = loss_of(torch.randperm(size, generator=generator)[:batch_size].tolist())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def grader_logits(model, texts) -> np.ndarray:
    """Logits [len(texts), C] of a model built here, in eval mode, on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.eval()
        with torch.no_grad():
            return model(list(texts)).double().numpy()
    finally:
        torch.set_num_threads(threads)


def load_state(model, arrays: dict) -> None:
    """Copy the floating-point arrays the worker sent (by name) into a model built here."""
    import torch

    state = model.state_dict()
    missing = [n for n in state if state[n].is_floating_point() and n not in arrays]
    check(not missing, f"the model's state lacks {describe(missing)} after your code ran")
    with torch.no_grad():
        for name, value in arrays.items():
            if name in state:
                state[name].copy_(torch.as_tensor(np.asarray(value), dtype=state[name].dtype))


# The bias of an attention key projection shifts every score of a query by the same amount, which the
# softmax removes: its true gradient is zero, and AdamW turns the rounding noise it gets instead into
# steps of size lr. It is left out of every comparison of trained weights.
NOISE_ONLY = re.compile(r"attention\.self\.key(\.base)?\.bias$")

# Trained weights must match the grader's run of the same fine-tuning to within this (rounding:
# about 1e-6; AdamW's default weight decay 0.01 alone moves a weight of 1 by 1e-4 * lr-steps).
WEIGHT_ATOL = 2e-5


def weight_gap(got: dict, expected: dict) -> tuple[float, str]:
    """The largest |difference| between two states (left out: NOISE_ONLY), and where it is."""
    worst, where = 0.0, ""
    for name, value in expected.items():
        if NOISE_ONLY.search(name) or name not in got:
            continue
        gap = float(np.abs(np.asarray(got[name], dtype=np.float64) - value).max()) if value.size else 0.0
        if gap > worst:
            worst, where = gap, name
    return worst, where


def verdict_on_meta(run) -> str:
    """Run ``run()`` (a student call with tensors on PyTorch's ``meta`` device): ``"ok"``, ``"inconclusive"``
    (it stopped where a value was needed, e.g. ``.item()``: as far as a check without a GPU goes) or what
    went wrong, e.g. a tensor made on the CPU meeting one on ``meta``."""
    from metakit.grading import StudentError
    from metakit.grading.harness import devices_verdict

    try:
        run()
    except StudentError as exc:
        verdict = devices_verdict([f"error: {exc}"])
        return verdict.replace("it raised your code raised", "your code raised", 1)
    return "ok"
