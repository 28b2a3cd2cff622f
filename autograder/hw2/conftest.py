"""The grader's own references for hw2, computed in the grading process (never in the worker).

Everything here is written independently of the student's code and of ``metakit.fewshot``: a
float64 conv4 (same architecture as the kit's: four blocks of 3x3 stride-2 convolution, batch norm
with batch statistics, ReLU; a linear head), the inner loop, first- and second-order
meta-gradients, and ProtoNet's loss and accuracies. Tests send inputs they chose to the student's
worker, get plain arrays back, and compare them with these.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

BLOCKS = 4
PARAM_ORDER = [f"{kind}{i}.{what}" for i in range(1, BLOCKS + 1)
               for kind, what in (("conv", "weight"), ("bn", "weight"), ("bn", "bias"))] + ["head.weight", "head.bias"]


# ------------------------------------------------------------------------------- data
def grader_params(num_ways: int, hidden: int, seed: int) -> dict[str, np.ndarray]:
    """Conv4 parameter values the grader chooses (float32, by name, in the kit's order)."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    channels = 1
    for i in range(1, BLOCKS + 1):
        params[f"conv{i}.weight"] = rng.normal(0, np.sqrt(2.0 / (9 * channels)), (hidden, channels, 3, 3))
        params[f"bn{i}.weight"] = 1.0 + 0.2 * rng.normal(size=hidden)
        params[f"bn{i}.bias"] = 0.2 * rng.normal(size=hidden)
        channels = hidden
    params["head.weight"] = rng.normal(0, 0.5, (num_ways, hidden * 4))
    params["head.bias"] = 0.1 * rng.normal(size=num_ways)
    return {name: value.astype(np.float32) for name, value in params.items()}


def grader_lrs(seed: int, low: float = 0.05, high: float = 0.6) -> dict[str, np.float32]:
    """A different inner learning rate for every parameter tensor."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(np.linspace(low, high, len(PARAM_ORDER)))
    return {name: np.float32(v) for name, v in zip(PARAM_ORDER, values)}


def random_task(num_ways: int, shots: int, queries: int, seed: int, shuffle: bool = True) -> tuple:
    """(support_x, support_y, query_x, query_y) float32 images in [0, 1] and int64 labels, rows shuffled."""
    rng = np.random.default_rng(seed)
    # each class gets its own mean pattern, so a network can tell classes apart a little
    means = rng.uniform(0, 1, (num_ways, 1, 28, 28))

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat(np.arange(num_ways), count)
        images = np.clip(means[labels] + 0.5 * rng.normal(size=(len(labels), 1, 28, 28)), 0, 1)
        order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
        return images[order].astype(np.float32), labels[order].astype(np.int64)

    support_x, support_y = draw(shots)
    query_x, query_y = draw(queries)
    return support_x, support_y, query_x, query_y


def send_task(task: tuple) -> tuple:
    from metakit.grading import tensor

    return tuple(tensor(a) for a in task)


# ------------------------------------------------------------------------------- MAML reference
def conv4(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = x
    for i in range(1, BLOCKS + 1):
        h = F.conv2d(h, params[f"conv{i}.weight"], stride=2, padding=1)
        mean = h.mean(dim=(0, 2, 3), keepdim=True)
        var = h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        h = (h - mean) / torch.sqrt(var + 1e-5)
        h = h * params[f"bn{i}.weight"].view(1, -1, 1, 1) + params[f"bn{i}.bias"].view(1, -1, 1, 1)
        h = torch.relu(h)
    return h.flatten(1) @ params["head.weight"].T + params["head.bias"]


def to_torch(arrays: dict, requires_grad: bool = False) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=requires_grad) for k, v in arrays.items()}


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(dim=-1) == labels).double().mean())


def adapt(params: dict[str, torch.Tensor], lrs: dict[str, torch.Tensor], support_x: torch.Tensor,
          support_y: torch.Tensor, steps: int, second_order: bool) -> tuple[dict, list[float], list[float]]:
    """Inner loop: adapted params, support accuracy before each step and after the last, and the
    smallest top-1 margin seen (to know whether an accuracy is robust to float32 rounding)."""
    adapted = dict(params)
    accs, margins = [], []
    names = list(adapted)
    for _ in range(steps):
        logits = conv4(adapted, support_x)
        accs.append(accuracy(logits, support_y))
        margins.append(_margin(logits))
        loss = F.cross_entropy(logits, support_y)
        grads = torch.autograd.grad(loss, [adapted[n] for n in names], create_graph=second_order)
        adapted = {n: adapted[n] - lrs[n] * g for n, g in zip(names, grads)}
    logits = conv4(adapted, support_x)
    accs.append(accuracy(logits, support_y))
    margins.append(_margin(logits))
    return adapted, accs, margins


def _margin(logits: torch.Tensor) -> float:
    top = logits.detach().topk(2, dim=-1).values
    return float((top[:, 0] - top[:, 1]).min())


def meta_reference(params_np: dict, lrs_np: dict, tasks: list[tuple], steps: int, second_order: bool,
                   learn_lrs: bool = True) -> dict:
    """Meta-loss, its gradient w.r.t. params and inner learning rates, accuracies (float64)."""
    params = to_torch(params_np, requires_grad=True)
    lrs = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=learn_lrs) for k, v in lrs_np.items()}
    losses, support_accs, query_accs = [], [], []
    for sx, sy, qx, qy in tasks:
        sx_t, qx_t = torch.tensor(sx, dtype=torch.float64), torch.tensor(qx, dtype=torch.float64)
        sy_t, qy_t = torch.tensor(sy), torch.tensor(qy)
        adapted, accs, _ = adapt(params, lrs, sx_t, sy_t, steps, second_order)
        logits = conv4(adapted, qx_t)
        losses.append(F.cross_entropy(logits, qy_t))
        support_accs.append(accs)
        query_accs.append(accuracy(logits, qy_t))
    loss = torch.stack(losses).mean()
    inputs = list(params.values()) + (list(lrs.values()) if learn_lrs else [])
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    names = list(params)
    return {
        "loss": float(loss.detach()),
        "grads": {n: g.numpy() for n, g in zip(names, grads[: len(names)])},
        "lr_grads": ({n: float(g) if g is not None else 0.0 for n, g in zip(lrs_np, grads[len(names):])}
                     if learn_lrs else None),
        "support_accs": np.mean(support_accs, axis=0),
        "query_acc": float(np.mean(query_accs)),
    }


def relative_gap(a: dict, b: dict) -> float:
    """||a - b|| / ||b|| over all entries of two dicts of arrays."""
    num = sum(float(np.sum((np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)) ** 2)) for k in b)
    den = sum(float(np.sum(np.asarray(b[k], np.float64) ** 2)) for k in b)
    return float(np.sqrt(num / max(den, 1e-30)))


def worst_entry(a: dict, b: dict) -> str:
    """Name of the tensor where ``a`` and ``b`` differ most (relative)."""
    gaps = {k: float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) / (float(np.abs(b[k]).max()) + 1e-12)
            for k in b}
    return max(gaps, key=gaps.get)


# ------------------------------------------------------------------------------- ProtoNet reference
def protonet_reference(features_s: np.ndarray, labels_s: np.ndarray, features_q: np.ndarray,
                       labels_q: np.ndarray, num_ways: int) -> dict:
    protos = np.stack([features_s[labels_s == n].mean(axis=0) for n in range(num_ways)])
    def logits(f: np.ndarray) -> np.ndarray:
        return -((f[:, None, :] - protos[None, :, :]) ** 2).sum(-1)
    lq = logits(features_q)
    shifted = lq - lq.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return {
        "prototypes": protos,
        "loss": float(-log_probs[np.arange(len(labels_q)), labels_q].mean()),
        "support_acc": float((logits(features_s).argmax(1) == labels_s).mean()),
        "query_acc": float((lq.argmax(1) == labels_q).mean()),
    }


# ------------------------------------------------------------------------------- training runs, driven from here
class Adam:
    """Adam (PyTorch's defaults: betas 0.9, 0.999, eps 1e-8) on a dict of float64 arrays.

    The training tests run the optimizer here, in the grading process, on the gradients the
    student's code produces in the worker, so the parameters the grader scores are exactly its own
    initialisation moved by Adam along those gradients: nothing the worker returns can replace them.
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = {k: np.asarray(v, np.float64).copy() for k, v in params.items()}
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.t += 1
        for k, g in grads.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1 ** self.t)
            v_hat = self.v[k] / (1 - self.beta2 ** self.t)
            self.params[k] = self.params[k] - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return self.params

    def float32(self) -> dict[str, np.ndarray]:
        return {k: v.astype(np.float32) for k, v in self.params.items()}


def sample_tasks(pool: np.ndarray, rng: np.random.Generator, count: int, ways: int, shots: int,
                 queries: int) -> list[tuple]:
    """``count`` training tasks from a uint8 pool [C, 20, 28, 28]: random classes in a random label
    order, rows shuffled (float32 images in [0, 1], int64 labels)."""
    tasks = []
    for _ in range(count):
        classes = rng.choice(pool.shape[0], ways, replace=False)
        drawers = np.stack([rng.permutation(pool.shape[1])[: shots + queries] for _ in classes])
        images = pool[classes[:, None], drawers].astype(np.float32) / 255.0           # [N, K+Q, 28, 28]
        labels = np.repeat(np.arange(ways), shots + queries).reshape(ways, shots + queries)

        def part(sl: slice) -> tuple[np.ndarray, np.ndarray]:
            x, y = images[:, sl].reshape(-1, 1, 28, 28), labels[:, sl].reshape(-1).astype(np.int64)
            order = rng.permutation(len(y))
            return np.ascontiguousarray(x[order]), y[order]

        tasks.append((*part(slice(0, shots)), *part(slice(shots, shots + queries))))
    return tasks


def protonet_init(hidden: int, seed: int) -> dict[str, np.ndarray]:
    """The ProtoNet embedding's starting parameters, chosen here: PyTorch's default initialisation
    of ``metakit.fewshot.ProtoNetEmbedding(hidden)`` under ``seed`` (built in the grading process)."""
    from metakit.fewshot import ProtoNetEmbedding

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ProtoNetEmbedding(hidden=hidden)
    return {name: p.detach().numpy().astype(np.float32).copy() for name, p in model.named_parameters()}


def protonet_embed(params: dict[str, np.ndarray], x: np.ndarray, stats_x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """The grader's own conv4 embedding (float64): four blocks of 3x3 stride-2 convolution (with bias),
    batch norm, ReLU; flattened. Batch norm normalises with the statistics of ``stats_x`` (training
    images chosen by the grader), not with anything the worker kept. x [M, 1, 28, 28] -> [M, 4 * hidden].

    The statistics come from ``stats_x`` alone, so ``x`` is embedded ``chunk`` images at a time (the
    whole batch in float64 would take hundreds of MB in the grading process).
    """
    p = {k: torch.tensor(np.asarray(v, np.float64)) for k, v in params.items()}
    statistics = []
    with torch.no_grad():
        h = torch.tensor(stats_x, dtype=torch.float64)
        for block in range(4):
            h = _conv(p, block, h)
            statistics.append((h.mean(dim=(0, 2, 3), keepdim=True), h.var(dim=(0, 2, 3), unbiased=False, keepdim=True)))
            h = _norm_relu(p, block, h, *statistics[-1])
        out = []
        for start in range(0, max(len(x), 1), chunk):   # (an empty x still gives [0, 4 * hidden])
            h = torch.tensor(x[start:start + chunk], dtype=torch.float64)
            for block in range(4):
                h = _norm_relu(p, block, _conv(p, block, h), *statistics[block])
            out.append(h.flatten(1).numpy())
    return np.concatenate(out)


def _conv(p: dict[str, torch.Tensor], block: int, h: torch.Tensor) -> torch.Tensor:
    conv = f"blocks.{3 * block}"
    return F.conv2d(h, p[f"{conv}.weight"], p[f"{conv}.bias"], stride=2, padding=1)


def _norm_relu(p: dict[str, torch.Tensor], block: int, h: torch.Tensor, mean: torch.Tensor,
               var: torch.Tensor) -> torch.Tensor:
    bn = f"blocks.{3 * block + 1}"
    h = (h - mean) / torch.sqrt(var + 1e-5)
    return torch.relu(h * p[f"{bn}.weight"].view(1, -1, 1, 1) + p[f"{bn}.bias"].view(1, -1, 1, 1))
