"""Hidden graders of hw1, part 3: mann_loss (cross-entropy on the query row only).

The grader sends scores and one-hot labels it chose (query rows in random orders that include
3-cycles, so a one-hot read along the wrong axis gives other classes) and compares the loss and
its gradient with its own numpy cross-entropy.
"""
from __future__ import annotations

import numpy as np

from metakit.grading import Ref, graded, naming, tensor

check, fail, close, as_array = naming("mann_loss")  # every message names the function at fault


def inputs(seed: int, batch: int, ways: int, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """scores [B, K+1, N, N] (float32) and one-hot labels: class-ordered support, permuted query rows."""
    rng = np.random.default_rng(seed)
    preds = rng.normal(0, 2.0, (batch, shots + 1, ways, ways)).astype(np.float32)
    labels = np.broadcast_to(np.eye(ways), (batch, shots + 1, ways, ways)).astype(np.float32).copy()
    cycle = np.roll(np.arange(ways), 1)  # a cycle: its inverse is a different permutation when N >= 3
    for b in range(batch):
        order = cycle if b % 2 == 0 else rng.permutation(ways)
        labels[b, -1] = np.eye(ways)[order]
    return preds, labels


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def reference_loss(preds: np.ndarray, labels: np.ndarray) -> float:
    query = preds[:, -1].astype(np.float64)
    target = labels[:, -1].argmax(axis=-1)
    logp = log_softmax(query)
    return float(-np.take_along_axis(logp, target[..., None], axis=-1).mean())


def value_configs() -> list[tuple[int, int, int, float]]:
    """(B, N, K, score scale): fixed edge cases (one episode, one class, one shot) and a seeded sweep."""
    rng = np.random.default_rng(314)
    configs = [(6, 4, 2, 2.0), (5, 3, 1, 2.0), (4, 2, 3, 2.0), (1, 5, 1, 2.0), (3, 1, 2, 2.0), (2, 3, 1, 8.0)]
    configs += [(int(rng.integers(1, 7)), int(rng.integers(2, 7)), int(rng.integers(1, 5)),
                 float(rng.choice([0.5, 2.0, 5.0]))) for _ in range(8)]
    return configs


@graded(points=3, timeout=30)
def test_loss_value(student):
    """mann_loss returns a scalar tensor: the mean cross-entropy of the query row's scores"""
    for seed, (batch, ways, shots, scale) in enumerate(value_configs()):
        preds, labels = inputs(seed, batch, ways, shots)
        preds = preds * np.float32(scale / 2.0)
        loss = student.call("mann_loss", tensor(preds), tensor(labels), keep=True)
        check(isinstance(loss, Ref) and loss.type in ("Tensor", "Parameter"),
              f"mann_loss should return a scalar tensor (what F.cross_entropy returns); yours returned "
              f"{getattr(loss, 'type', type(loss).__name__)}")
        shape = student.attr(loss, "shape")
        check(isinstance(shape, (tuple, list)) and len(shape) == 0,
              f"mann_loss should return a scalar tensor (shape [], 0 dimensions); yours has shape "
              f"{list(shape) if isinstance(shape, (tuple, list)) else shape} for {batch} {ways}-way {shots}-shot "
              f"episodes")
        value = as_array(student.method(loss, "detach"), "mann_loss(preds, labels)")
        check(value.size == 1, f"mann_loss should return a single number; yours holds {value.size}")
        expected = reference_loss(preds, labels)
        close(value.reshape(()), expected, atol=1e-4, rtol=1e-4,
              what=f"mann_loss on {batch} {ways}-way {shots}-shot episodes (expected: the mean over the "
                   f"B*N query predictions of -log softmax(scores)[true class], row K only, scores used as "
                   f"logits without a softmax first)")


@graded(points=2, timeout=30)
def test_loss_gradient_only_on_query_row(student):
    """the gradient of mann_loss is (softmax - onehot) / (B*N) on the query row and zero elsewhere"""
    fn = student.ref("mann_loss")
    for seed, (batch, ways, shots) in enumerate([(4, 3, 2), (1, 4, 1), (3, 2, 3), (2, 5, 1)]):
        preds, labels = inputs(11 + seed, batch, ways, shots)
        out = student.call("metakit.grading.harness:input_grads", fn, tensor(preds, requires_grad=True),
                           tensor(labels))
        check(isinstance(out, dict) and out.get("grads") is not None and len(out["grads"]) == 1
              and out["grads"][0] is not None,
              "mann_loss's result does not depend on the scores through autograd (did you call .item(), "
              "convert to numpy, or detach?)")
        grad = as_array(out["grads"][0], "the gradient of mann_loss with respect to preds", shape=preds.shape)
        support = float(np.abs(grad[:, :-1]).max())
        check(support < 1e-7, f"mann_loss depends on the support rows' scores (gradient up to {support:.3g} "
                              f"there): only row K, the query row, is scored")
        probs = np.exp(log_softmax(preds[:, -1].astype(np.float64)))
        expected = (probs - labels[:, -1]) / (batch * ways)
        close(grad[:, -1], expected, atol=1e-5,
              what=f"the gradient of mann_loss on the query row of {batch} {ways}-way {shots}-shot episodes "
                   f"(expected (softmax(scores) - onehot) / (B*N))")
