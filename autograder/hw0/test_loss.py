"""Hidden graders of hw0: multitask_loss (the weighted sum of the task losses, with its gradient).

Every expected value is computed here from the numbers sent; a seeded sweep covers sizes K = 1..8,
zero weights and float32 / float64 losses.
"""
import numpy as np

from conftest import HARNESS, raises_value_error
from metakit.grading import as_array, check, close, graded, tensor

RNG = np.random.default_rng(31)
LOSSES = RNG.uniform(0.1, 3.0, size=5).astype(np.float32)
WEIGHTS = np.array([0.5, 0.0, 2.0, 1.0, 3.5], dtype=np.float32)


def sweep(seed: int, count: int = 6):
    """``count`` seeded cases (losses [K], weights [K]) with K from 1 to 8, some weights zero."""
    rng = np.random.default_rng(seed)
    for number in range(count):
        k = 1 + number % 8 if number < 8 else int(rng.integers(1, 9))
        dtype = np.float64 if number % 3 == 2 else np.float32
        losses = rng.uniform(0.05, 4.0, size=k).astype(dtype)
        weights = (rng.uniform(0.0, 3.0, size=k) * (rng.random(k) > 0.25)).astype(dtype)
        yield losses, weights


def weighted(student, losses, weights, scalar_check: bool = False):
    """(value, d value / d losses) of the student's multitask_loss, through a backward in the harness."""
    args = [student.ref("multitask_loss"), tensor(losses, requires_grad=True)]
    if weights is not None:
        args.append(tensor(weights))
    out = student.call(f"{HARNESS}:input_grads", *args)
    value = as_array(out["output"], "multitask_loss(per_task_losses, weights)").reshape(-1)
    check(value.size == 1, f"multitask_loss should return a scalar; it returned {value.size} numbers")
    check(out["grads"] is not None, "the result of multitask_loss does not depend on per_task_losses through "
                                    "autograd (did you call .item(), .detach() or numpy?)")
    if scalar_check:   # arrays lose their 0-d shape on the wire: ask the tensor itself
        kept = student.call("multitask_loss", *([tensor(losses)] + ([] if weights is None else [tensor(weights)])),
                            keep=True)
        ndim = student.attr(kept, "ndim")
        check(ndim == 0, f"multitask_loss should return a scalar (a 0-d tensor); it returned a {kept.type} with "
                         f"{ndim} dimensions")
    return float(value[0]), as_array(out["grads"][0], "the gradient of multitask_loss", shape=losses.shape)


@graded(points=2, timeout=30)
def test_loss_weighted_sum(student):
    """multitask_loss is sum_k w_k L_k, and its gradient with respect to L_k is w_k"""
    value, grad = weighted(student, LOSSES, WEIGHTS, scalar_check=True)
    expected = float((WEIGHTS.astype(np.float64) * LOSSES).sum())
    close(value, expected, atol=1e-4, what=f"multitask_loss(losses={np.round(LOSSES, 3).tolist()}, "
                                           f"weights={WEIGHTS.tolist()})")
    close(grad, WEIGHTS, atol=1e-5, what="the gradient of multitask_loss with respect to each task's loss")
    for losses, weights in sweep(seed=32):
        value, grad = weighted(student, losses, weights)
        close(value, float((weights.astype(np.float64) * losses).sum()), atol=1e-4,
              what=f"multitask_loss for K = {len(losses)} losses {np.round(losses, 3).tolist()} and weights "
                   f"{np.round(weights, 3).tolist()}")
        close(grad, weights, atol=1e-5, what=f"the gradient of multitask_loss for K = {len(losses)}")


@graded(points=1, timeout=30)
def test_loss_default_weights(student):
    """multitask_loss without weights is the plain sum of the task losses"""
    value, grad = weighted(student, LOSSES, None, scalar_check=True)
    close(value, float(LOSSES.astype(np.float64).sum()), atol=1e-4, what="multitask_loss(losses) with weights=None")
    close(grad, np.ones(5), atol=1e-5, what="the gradient of multitask_loss(losses) with weights=None")
    for losses, _ in sweep(seed=33, count=4):
        value, grad = weighted(student, losses, None)
        close(value, float(losses.astype(np.float64).sum()), atol=1e-4,
              what=f"multitask_loss(losses) with weights=None for K = {len(losses)}")
        close(grad, np.ones(len(losses)), atol=1e-5, what=f"the gradient with weights=None for K = {len(losses)}")


@graded(points=1, timeout=30)
def test_loss_rejects_mismatched_weights(student):
    """multitask_loss raises ValueError when the weights and the losses differ in shape"""
    value, _ = weighted(student, LOSSES, WEIGHTS)
    close(value, float((WEIGHTS.astype(np.float64) * LOSSES).sum()), atol=1e-4,
          what="multitask_loss with matching shapes (it must still compute the weighted sum)")
    cases = [(WEIGHTS[:3], "5 losses and 3 weights"), (WEIGHTS.reshape(5, 1), "5 losses and weights of shape [5, 1]"),
             (WEIGHTS[:1], "5 losses and a single weight [1] (shapes differ: no broadcasting)")]
    for weights, what in cases:
        ok, happened = raises_value_error(student, "multitask_loss", tensor(LOSSES), tensor(weights))
        check(ok, f"multitask_loss with {what} should raise ValueError; {happened}")
