"""Hidden graders of hw0: multitask_loss (the weighted sum of the task losses, with its gradient)."""
import numpy as np

from conftest import raises_value_error
from metakit.grading import as_array, check, close, graded, tensor

RNG = np.random.default_rng(31)
LOSSES = RNG.uniform(0.1, 3.0, size=5).astype(np.float32)
WEIGHTS = np.array([0.5, 0.0, 2.0, 1.0, 3.5], dtype=np.float32)


def weighted(student, weights):
    args = [student.ref("multitask_loss"), tensor(LOSSES, requires_grad=True)]
    if weights is not None:
        args.append(tensor(weights))
    out = student.call("metakit.grading.harness:input_grads", *args)
    value = as_array(out["output"], "multitask_loss(per_task_losses, weights)").reshape(-1)
    check(value.size == 1, f"multitask_loss should return a scalar; it returned {value.size} numbers")
    check(out["grads"] is not None, "the result of multitask_loss does not depend on per_task_losses through "
                                    "autograd (did you call .item(), .detach() or numpy?)")
    return float(value[0]), as_array(out["grads"][0], "the gradient of multitask_loss", shape=LOSSES.shape)


@graded(points=2, timeout=30)
def test_loss_weighted_sum(student):
    """multitask_loss is sum_k w_k L_k, and its gradient with respect to L_k is w_k"""
    value, grad = weighted(student, WEIGHTS)
    expected = float((WEIGHTS.astype(np.float64) * LOSSES).sum())
    close(value, expected, atol=1e-4, what=f"multitask_loss(losses={np.round(LOSSES, 3).tolist()}, "
                                           f"weights={WEIGHTS.tolist()})")
    close(grad, WEIGHTS, atol=1e-5, what="the gradient of multitask_loss with respect to each task's loss")


@graded(points=1, timeout=30)
def test_loss_default_weights(student):
    """multitask_loss without weights is the plain sum of the task losses"""
    value, grad = weighted(student, None)
    close(value, float(LOSSES.astype(np.float64).sum()), atol=1e-4, what="multitask_loss(losses) with weights=None")
    close(grad, np.ones(5), atol=1e-5, what="the gradient of multitask_loss(losses) with weights=None")


@graded(points=1, timeout=30)
def test_loss_rejects_mismatched_weights(student):
    """multitask_loss raises ValueError when the weights and the losses differ in shape"""
    ok, happened = raises_value_error(student, "multitask_loss", tensor(LOSSES), tensor(WEIGHTS[:3]))
    check(ok, f"multitask_loss with 5 losses and 3 weights should raise ValueError; {happened}")
