"""Hidden graders of hw_example (softmax, cross-entropy, accuracy): the engine's worked example."""
import numpy as np

from metakit.grading import as_array, check, close, graded, partial_credit, tensor

RNG = np.random.default_rng(1234)
LOGITS = RNG.normal(size=(6, 4)).astype(np.float32)
LABELS = RNG.integers(0, 4, size=6)


def reference_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@graded(points=2, timeout=20)
def test_softmax_values(student):
    """softmax matches the definition on random logits"""
    probs = student.call("softmax", tensor(LOGITS))
    close(probs, reference_softmax(LOGITS.astype(np.float64)), atol=1e-5, what="softmax(logits)")


@graded(points=1, timeout=20)
def test_softmax_large_logits(student):
    """softmax of very large logits is finite (subtract the maximum first)"""
    big = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]], dtype=np.float32)
    probs = as_array(student.call("softmax", tensor(big)), "softmax(large logits)", shape=(2, 3))
    check(np.isfinite(probs).all(), "softmax of logits like 1000 gives NaN or inf: subtract the row "
                                    "maximum before exponentiating")
    close(probs, reference_softmax(big.astype(np.float64)), atol=1e-5, what="softmax(large logits)")


@graded(points=1, timeout=20)
def test_softmax_last_axis(student):
    """softmax works over the last axis of a 3-d tensor"""
    z = RNG.normal(size=(2, 3, 5)).astype(np.float32)
    close(student.call("softmax", tensor(z)), reference_softmax(z.astype(np.float64)), atol=1e-5,
          what="softmax of a [2, 3, 5] tensor (over the last axis)")


@graded(points=2, timeout=20)
def test_cross_entropy_value(student):
    """cross_entropy is the mean negative log-probability of the labels"""
    expected = -np.log(reference_softmax(LOGITS.astype(np.float64))[np.arange(6), LABELS]).mean()
    loss = student.call("cross_entropy", tensor(LOGITS), tensor(LABELS))
    close(as_array(loss, "cross_entropy(logits, labels)").reshape(()), expected, atol=1e-4,
          what="cross_entropy(logits, labels)")
    # Large logits (the stable log-softmax): a NaN or inf here means the shift by the row maximum is wrong.
    big = np.array([[50.0, 52.0, 49.0, 51.0], [-60.0, 0.0, 60.0, 30.0]], dtype=np.float32)
    shifted = big.astype(np.float64) - big.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected_big = -log_probs[[0, 1], [1, 3]].mean()
    loss_big = as_array(student.call("cross_entropy", tensor(big), tensor(np.array([1, 3]))),
                        "cross_entropy(large logits, labels)").reshape(())
    check(np.isfinite(loss_big), "cross_entropy of logits around 50 gives NaN or inf: compute log-softmax "
                                 "stably (subtract the row maximum)")
    close(loss_big, expected_big, atol=1e-3, what="cross_entropy(large logits, labels)")


@graded(points=1, timeout=20)
def test_cross_entropy_gradient(student):
    """cross_entropy has the right gradient: (softmax - onehot) / B"""
    fn = student.ref("cross_entropy")
    out = student.call("metakit.grading.harness:input_grads", fn, tensor(LOGITS, requires_grad=True),
                       tensor(LABELS))
    check(out["grads"] is not None, "cross_entropy's result does not depend on the logits through "
                                    "autograd (did you convert to numpy or call .item()?)")
    onehot = np.eye(4)[LABELS]
    close(out["grads"][0], (reference_softmax(LOGITS.astype(np.float64)) - onehot) / 6, atol=1e-5,
          what="the gradient of cross_entropy with respect to the logits")


@graded(points=1, timeout=20)
def test_accuracy(student):
    """accuracy counts rows whose largest logit is at the label"""
    expected = float((LOGITS.argmax(axis=1) == LABELS).mean())
    got = student.call("accuracy", tensor(LOGITS), tensor(LABELS))
    close(as_array(got, "accuracy(logits, labels)").reshape(()), expected, atol=1e-6,
          what="accuracy(logits, labels)")
    if not isinstance(got, float):
        partial_credit(0.5, f"the value is right, but accuracy should return a Python float (use "
                            f".item()); yours returned {type(got).__name__}")
