"""Hidden graders of hw1, part 2: MANN.forward.

The grader loads weights it chose into the two given LSTM layers (``layer1``, ``layer2``), sends
inputs it chose, and compares what comes back with its own numpy LSTM, and with the model's own
outputs on inputs that differ only in some labels: the query labels must make no difference,
the support labels must.
"""
from __future__ import annotations

import numpy as np

from metakit.grading import as_array, check, close, fail, graded, tensor

PIXELS = 784


# ------------------------------------------------------------------------------ helpers
def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
    """torch.nn.LSTM (one layer, batch first, zero initial state) in numpy: [B, T, I] -> [B, T, H]."""
    batch, steps, _ = x.shape
    size = w_hh.shape[1]
    h, c = np.zeros((batch, size)), np.zeros((batch, size))
    out = np.zeros((batch, steps, size))
    for t in range(steps):
        gates = x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out[:, t] = h
    return out


def reference_forward(weights: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The MANN of the handout: zero the query labels, concatenate, two LSTMs, row-major sequence."""
    batch, rows, ways = labels.shape[:3]
    visible = labels.copy()
    visible[:, -1] = 0.0
    sequence = np.concatenate([images, visible], axis=-1).reshape(batch, rows * ways, -1)
    hidden = lstm(sequence, *(weights[f"layer1.{p}_l0"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    scores = lstm(hidden, *(weights[f"layer2.{p}_l0"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    return scores.reshape(batch, rows, ways, ways)


def grader_weights(seed: int, ways: int, hidden: int) -> dict[str, np.ndarray]:
    """Weights for layer1 (784+N -> hidden) and layer2 (hidden -> N) that make labels matter a lot."""
    rng = np.random.default_rng(seed)
    w_ih1 = np.concatenate([rng.normal(0, 0.05, (4 * hidden, PIXELS)), rng.normal(0, 1.0, (4 * hidden, ways))], axis=1)
    return {
        "layer1.weight_ih_l0": w_ih1,
        "layer1.weight_hh_l0": rng.normal(0, 0.3, (4 * hidden, hidden)),
        "layer1.bias_ih_l0": rng.normal(0, 0.3, 4 * hidden),
        "layer1.bias_hh_l0": rng.normal(0, 0.3, 4 * hidden),
        "layer2.weight_ih_l0": rng.normal(0, 0.5, (4 * ways, hidden)),
        "layer2.weight_hh_l0": rng.normal(0, 0.5, (4 * ways, ways)),
        "layer2.bias_ih_l0": rng.normal(0, 0.3, 4 * ways),
        "layer2.bias_hh_l0": rng.normal(0, 0.3, 4 * ways),
    }


def episode_inputs(seed: int, batch: int, ways: int, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """images [B, K+1, N, 784] in [0, 1] and labels [B, K+1, N, N]: class-ordered support, shuffled query."""
    rng = np.random.default_rng(seed)
    images = (rng.random((batch, shots + 1, ways, PIXELS)) < 0.2).astype(np.float32)
    labels = np.broadcast_to(np.eye(ways), (batch, shots + 1, ways, ways)).astype(np.float32).copy()
    for b in range(batch):
        labels[b, -1] = np.eye(ways)[rng.permutation(ways)]
    return images, labels


def build_model(student, ways: int, shots: int, hidden: int, seed: int):
    """MANN(N, K+1, hidden) in the worker, with the grader's weights loaded into layer1 and layer2."""
    model = student.call("MANN", ways, shots + 1, hidden, keep=True)
    state = student.call("metakit.grading.harness:state_arrays", model)
    weights = grader_weights(seed, ways, hidden)
    missing = [name for name in weights if name not in state]
    if missing:
        fail(f"MANN({ways}, {shots + 1}, {hidden}) has no parameters {', '.join(missing[:3])}: keep the given "
             f"layers self.layer1 = nn.LSTM({PIXELS} + num_classes, hidden_dim, batch_first=True) and "
             f"self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)")
    for name, value in weights.items():
        check(tuple(state[name].shape) == value.shape,
              f"MANN({ways}, {shots + 1}, {hidden}).{name} has shape {list(state[name].shape)}, expected "
              f"{list(value.shape)}: keep the given layers (layer1: {PIXELS}+N -> hidden, layer2: hidden -> N)")
    student.call("metakit.grading.harness:load_arrays", model, weights)
    return model, weights


def forward(student, model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    batch, rows, ways = labels.shape[:3]
    out = student.method(model, "forward", tensor(images), tensor(labels))
    return as_array(out, f"MANN.forward on a batch of {batch} episodes with K+1={rows}, N={ways}",
                    shape=(batch, rows, ways, ways))


# ------------------------------------------------------------------------------ tests
@graded(points=1, timeout=30)
def test_mann_output_shape(student):
    """MANN(N, K+1, hidden).forward returns [B, K+1, N, N]"""
    for seed, (batch, ways, shots, hidden) in enumerate([(3, 3, 2, 16), (2, 2, 1, 8), (4, 5, 1, 12)]):
        images, labels = episode_inputs(seed, batch, ways, shots)
        model = student.call("MANN", ways, shots + 1, hidden, keep=True)
        scores = forward(student, model, images, labels)
        check(np.isfinite(scores).all(), f"MANN.forward returned NaN or inf ({ways}-way {shots}-shot)")


@graded(points=3, timeout=30)
def test_mann_forward_matches_the_two_lstms(student):
    """forward = zero query labels, concatenate, layer1, layer2 over the rows in order"""
    for seed, (batch, ways, shots, hidden) in enumerate([(3, 3, 2, 10), (2, 4, 1, 6)]):
        model, weights = build_model(student, ways, shots, hidden, seed=40 + seed)
        images, labels = episode_inputs(50 + seed, batch, ways, shots)
        scores = forward(student, model, images, labels)
        expected = reference_forward(weights, images.astype(np.float64), labels.astype(np.float64))
        if not np.allclose(scores, expected, atol=1e-4):
            worst = float(np.abs(scores - expected).max())
            fail(f"MANN.forward ({ways}-way {shots}-shot, hidden {hidden}, with the grader's weights in layer1 and "
                 f"layer2) differs from the expected scores by up to {worst:.3g}. Check, in order: the query "
                 f"row's labels (and only those) are zeroed; images and labels are concatenated on the last "
                 f"axis (image first, [.., 784 + N]); the sequence is the rows in order (support row 0, row 1, "
                 f"..., the query row last), i.e. [B, K+1, N, 784+N] reshaped to [B, (K+1)*N, 784+N]; layer2 "
                 f"reads layer1's output sequence; the result is reshaped back to [B, K+1, N, N] without "
                 f"any softmax")


@graded(points=2, timeout=30)
def test_query_labels_are_hidden(student):
    """the query predictions do not change when the query labels in the input change"""
    batch, ways, shots, hidden = 4, 3, 2, 12
    model, _ = build_model(student, ways, shots, hidden, seed=61)
    images, labels = episode_inputs(62, batch, ways, shots)
    baseline = forward(student, model, images, labels)[:, -1]
    rng = np.random.default_rng(63)
    decoys = {
        "all zeros": np.zeros((batch, ways, ways), np.float32),
        "another permutation": np.stack([np.eye(ways)[rng.permutation(ways)] for _ in range(batch)]).astype(np.float32),
        "random numbers": rng.normal(0, 5, (batch, ways, ways)).astype(np.float32),
    }
    for name, decoy in decoys.items():
        changed = labels.copy()
        changed[:, -1] = decoy
        scores = forward(student, model, images, changed)[:, -1]
        gap = float(np.abs(scores - baseline).max())
        check(gap < 1e-5, f"the query predictions changed by up to {gap:.3g} when only the query labels "
                          f"(row K) were replaced by {name}: the model can read the answers. Zero row K of "
                          f"the labels (a copy of them) before the LSTMs see it")


@graded(points=2, timeout=30)
def test_support_labels_are_read(student):
    """the query predictions change when a support label changes"""
    batch, ways, shots, hidden = 4, 3, 2, 12
    model, _ = build_model(student, ways, shots, hidden, seed=71)
    images, labels = episode_inputs(72, batch, ways, shots)
    baseline = forward(student, model, images, labels)[:, -1]
    for row, column in ((0, 0), (shots - 1, ways - 1)):
        changed = labels.copy()
        changed[:, row, column] = np.roll(labels[:, row, column], 1, axis=-1)
        scores = forward(student, model, images, changed)[:, -1]
        gap = float(np.abs(scores - baseline).max())
        check(gap > 1e-3, f"changing the label of support row {row}, column {column} did not change the query "
                          f"predictions (largest change {gap:.2g}): the model must see the support labels; "
                          f"zero only row K, the query row, and concatenate the labels to the images")


@graded(points=1, timeout=30)
def test_forward_leaves_labels_unchanged(student):
    """forward does not modify the labels tensor it is given (the loss needs the query labels)"""
    batch, ways, shots, hidden = 3, 3, 1, 8
    images, labels = episode_inputs(81, batch, ways, shots)
    model = student.call("MANN", ways, shots + 1, hidden, keep=True)
    kept = student.call("torch:as_tensor", tensor(labels), keep=True)
    student.method(model, "forward", tensor(images), kept)
    after = as_array(student.call("torch:clone", kept), "the labels after forward", shape=labels.shape)
    check(np.array_equal(after, labels), "MANN.forward changed the labels tensor it was given (the query row "
                                         "became zeros?): zero the query row of a copy (labels.clone()), "
                                         "because the loss still needs the true query labels")
