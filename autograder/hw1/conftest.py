"""The grader's own references for hw1, computed in the grading process (never in the worker).

Written independently of the student's code and of ``metakit.blackbox``: the MANN of the handout
(two single-layer LSTMs, query labels zeroed, rows in order) as a float64 torch computation with
autograd, the checks of the documented initialisation, the query cross-entropy, and helpers that
build a ``MANN`` in the worker and compare what it returns with these.
"""
from __future__ import annotations

import numpy as np
import torch

from metakit.grading import as_array, check, fail, tensor

PIXELS = 784
LSTM_PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


# ------------------------------------------------------------------------------ the reference MANN
def layer_names() -> list[str]:
    return [f"{layer}.{p}" for layer in ("layer1", "layer2") for p in LSTM_PARAMS]


def expected_shapes(ways: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """layer1 = LSTM(784 + N -> hidden), layer2 = LSTM(hidden -> N), one layer each."""
    return {
        "layer1.weight_ih_l0": (4 * hidden, PIXELS + ways), "layer1.weight_hh_l0": (4 * hidden, hidden),
        "layer1.bias_ih_l0": (4 * hidden,), "layer1.bias_hh_l0": (4 * hidden,),
        "layer2.weight_ih_l0": (4 * ways, hidden), "layer2.weight_hh_l0": (4 * ways, ways),
        "layer2.bias_ih_l0": (4 * ways,), "layer2.bias_hh_l0": (4 * ways,),
    }


def _lstm(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
          b_hh: torch.Tensor) -> torch.Tensor:
    """One LSTM layer (gates i, f, g, o; zero initial state): [B, T, I] -> [B, T, H]."""
    batch, steps, _ = x.shape
    size = w_hh.shape[1]
    h = x.new_zeros(batch, size)
    c = x.new_zeros(batch, size)
    out = []
    for t in range(steps):
        i, f, g, o = (x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out, dim=1)


def reference_scores(weights: dict[str, torch.Tensor], images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The handout's MANN: images [B, K+1, N, 784], labels [B, K+1, N, N] -> scores [B, K+1, N, N]."""
    batch, rows, ways = labels.shape[:3]
    visible = torch.cat([labels[:, :-1], torch.zeros_like(labels[:, -1:])], dim=1)
    sequence = torch.cat([images, visible], dim=-1).reshape(batch, rows * ways, PIXELS + ways)
    hidden = _lstm(sequence, *(weights[f"layer1.{p}"] for p in LSTM_PARAMS))
    scores = _lstm(hidden, *(weights[f"layer2.{p}"] for p in LSTM_PARAMS))
    return scores.reshape(batch, rows, ways, ways)


def reference_forward(weights: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``reference_scores`` in float64 on numpy inputs (weights as the worker holds them)."""
    with torch.no_grad():
        w = {name: torch.as_tensor(np.asarray(weights[name], dtype=np.float64)) for name in layer_names()}
        return reference_scores(w, torch.as_tensor(images, dtype=torch.float64),
                                torch.as_tensor(labels, dtype=torch.float64)).numpy()


def reference_parameter_grads(weights: dict[str, np.ndarray], images: np.ndarray,
                              labels: np.ndarray) -> dict[str, np.ndarray]:
    """Gradient of sum(scores) with respect to every LSTM parameter (float64)."""
    w = {name: torch.as_tensor(np.asarray(weights[name], dtype=np.float64)).requires_grad_(True)
         for name in layer_names()}
    scores = reference_scores(w, torch.as_tensor(images, dtype=torch.float64),
                              torch.as_tensor(labels, dtype=torch.float64))
    scores.sum().backward()
    return {name: t.grad.numpy() for name, t in w.items()}


# ------------------------------------------------------------------------------ grader-chosen data
def grader_weights(seed: int, ways: int, hidden: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    """float32 weights for layer1 and layer2 that drive the gates well into their nonlinear range
    (so a missing or extra tanh/ReLU, or labels that do not reach the LSTM, change the scores)."""
    rng = np.random.default_rng(seed)
    w_ih1 = np.concatenate([rng.normal(0, 0.12 * scale, (4 * hidden, PIXELS)),
                            rng.normal(0, 1.5 * scale, (4 * hidden, ways))], axis=1)
    weights = {
        "layer1.weight_ih_l0": w_ih1,
        "layer1.weight_hh_l0": rng.normal(0, 0.6 * scale, (4 * hidden, hidden)),
        "layer1.bias_ih_l0": rng.normal(0, 0.5, 4 * hidden),
        "layer1.bias_hh_l0": rng.normal(0, 0.5, 4 * hidden),
        "layer2.weight_ih_l0": rng.normal(0, 1.2 * scale, (4 * ways, hidden)),
        "layer2.weight_hh_l0": rng.normal(0, 0.8 * scale, (4 * ways, ways)),
        "layer2.bias_ih_l0": rng.normal(0, 0.5, 4 * ways),
        "layer2.bias_hh_l0": rng.normal(0, 0.5, 4 * ways),
    }
    return {name: value.astype(np.float32) for name, value in weights.items()}


def episode_inputs(seed: int, batch: int, ways: int, shots: int) -> tuple[np.ndarray, np.ndarray]:
    """images [B, K+1, N, 784] (binary, like drawings) and labels [B, K+1, N, N]: class-ordered
    support rows, a random permutation in every query row."""
    rng = np.random.default_rng(seed)
    images = (rng.random((batch, shots + 1, ways, PIXELS)) < 0.2).astype(np.float32)
    labels = np.broadcast_to(np.eye(ways), (batch, shots + 1, ways, ways)).astype(np.float32).copy()
    for b in range(batch):
        labels[b, -1] = np.eye(ways)[rng.permutation(ways)]
    return images, labels


# ------------------------------------------------------------------------------ talking to the worker
def model_state(student, model, ways: int, hidden: int, what: str) -> dict[str, np.ndarray]:
    """The LSTM parameters of a MANN in the worker, checked against the documented shapes."""
    state = student.call("metakit.grading.harness:state_arrays", model)
    if not isinstance(state, dict):
        fail(f"could not read the parameters of {what}")
    shapes = expected_shapes(ways, hidden)
    missing = [name for name in shapes if name not in state]
    if missing:
        fail(f"{what} has no parameters {', '.join(missing[:3])}: keep the given single-layer LSTMs "
             f"self.layer1 = nn.LSTM({PIXELS} + num_classes, hidden_dim, batch_first=True) and "
             f"self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)")
    extra = sorted(name for name in state if name.startswith(("layer1.", "layer2.")) and name not in shapes)
    check(not extra, f"{what} has the LSTM parameters {', '.join(extra[:4])} besides the documented ones: "
                     f"layer1 and layer2 are single-layer, one-directional LSTMs (num_layers=1, no proj_size)")
    arrays = {}
    for name, shape in shapes.items():
        value = as_array(state[name], f"{what}.{name}")
        check(tuple(value.shape) == shape,
              f"{what}.{name} has shape {list(value.shape)}, expected {list(shape)}: keep the given layers "
              f"(layer1: {PIXELS} + N -> hidden_dim, layer2: hidden_dim -> N)")
        arrays[name] = value
    return arrays


def build_model(student, ways: int, shots: int, hidden: int, seed: int, scale: float = 1.0):
    """MANN(N, K+1, hidden) in the worker, with the grader's weights loaded into layer1 and layer2."""
    model = student.call("MANN", ways, shots + 1, hidden, keep=True)
    model_state(student, model, ways, hidden, f"MANN({ways}, {shots + 1}, {hidden})")
    weights = grader_weights(seed, ways, hidden, scale)
    student.call("metakit.grading.harness:load_arrays", model, weights)
    return model, weights


def forward(student, model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    batch, rows, ways = labels.shape[:3]
    out = student.method(model, "forward", tensor(images), tensor(labels))
    return as_array(out, f"MANN.forward on a batch of {batch} episodes with K+1={rows}, N={ways}",
                    shape=(batch, rows, ways, ways))


FORWARD_HINT = ("Check, in order: the query row's labels (and only those) are zeroed; images and labels are "
                "concatenated on the last axis (image first, [.., 784 + N]); the sequence is the rows in order "
                "(support row 0, row 1, ..., the query row last), i.e. [B, K+1, N, 784+N] reshaped to "
                "[B, (K+1)*N, 784+N]; layer2 reads layer1's output sequence, with nothing in between; the "
                "result is reshaped back to [B, K+1, N, N] without any softmax")


def require_forward_matches(student, model, weights: dict[str, np.ndarray], images: np.ndarray,
                            labels: np.ndarray, what: str, atol: float = 2e-5) -> np.ndarray:
    """The student's scores, failing unless they are the reference MANN's for ``weights``."""
    scores = forward(student, model, images, labels)
    expected = reference_forward(weights, images, labels)
    if not np.isfinite(scores).all() or not np.allclose(scores, expected, atol=atol, rtol=1e-4):
        worst = float(np.nanmax(np.abs(scores - expected))) if np.isfinite(scores).any() else float("nan")
        fail(f"{what}: MANN.forward differs from the expected scores by up to {worst:.3g}. {FORWARD_HINT}")
    return scores
