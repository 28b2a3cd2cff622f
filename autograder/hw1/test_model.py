"""Hidden graders of hw1, part 2: MANN (its given layers and initialisation, and forward).

The grader reads the parameters of a fresh MANN (their shapes and initial values), loads weights it
chose into the two given LSTM layers (``layer1``, ``layer2``), sends inputs it chose, and compares
the scores and the parameter gradients that come back with its own float64 MANN (``conftest.py``),
computed here. Property tests (query labels hidden, support labels read, inputs left unchanged)
give their points only when forward also computes the right scores, so a constant or random
forward earns nothing from them.
"""
from __future__ import annotations

import numpy as np
from conftest import (
    PIXELS,
    build_model,
    episode_inputs,
    forward,
    grader_weights,
    layer_names,
    model_state,
    reference_forward,
    reference_parameter_grads,
    require_forward_matches,
)

from metakit.grading import graded, naming, tensor

check, fail, close, as_array = naming("MANN")  # every message names the model at fault

DEFAULT_HIDDEN = 128


def fresh_model(student, ways: int, shots: int, hidden: int | None, seed: int):
    """MANN(N, K+1[, hidden]) built in the worker after seeding it; (model, its parameters, what)."""
    student.call("metakit.grading.harness:set_seed", seed)
    args = (ways, shots + 1) if hidden is None else (ways, shots + 1, hidden)
    what = f"MANN({', '.join(map(str, args))})"
    model = student.call("MANN", *args, keep=True)
    state = model_state(student, model, ways, DEFAULT_HIDDEN if hidden is None else hidden, what)
    return model, state, what


# ------------------------------------------------------------------------------ structure
@graded(points=1, timeout=30)
def test_mann_output_shape(student):
    """MANN(N, K+1, hidden).forward returns finite scores [B, K+1, N, N] computed by its LSTMs from the episode"""
    configs = [(3, 3, 2, 16), (1, 2, 1, 8), (4, 5, 1, 12), (2, 1, 2, 6), (1, 4, 3, 5)]
    for seed, (batch, ways, shots, hidden) in enumerate(configs):
        images, labels = episode_inputs(seed, batch, ways, shots)
        student.call("metakit.grading.harness:set_seed", seed)
        model = student.call("MANN", ways, shots + 1, hidden, keep=True)
        scores = forward(student, model, images, labels)
        check(np.isfinite(scores).all(), f"MANN.forward returned NaN or inf ({ways}-way {shots}-shot)")
        repeat = float(np.abs(forward(student, model, images, labels) - scores).max())
        check(repeat < 1e-6, f"MANN({ways}, {shots + 1}, {hidden}).forward gave other scores for the same inputs "
                             f"the second time (largest change {repeat:.2g}): the scores must be a function of the "
                             f"episode and the weights, with no randomness in forward")
        other = images.copy()
        other[:, :shots] = 1.0 - other[:, :shots]  # other support drawings, same query drawings
        moved = float(np.abs(forward(student, model, other, labels)[:, -1] - scores[:, -1]).max())
        check(moved > 1e-6, f"MANN({ways}, {shots + 1}, {hidden}).forward gave the same query scores for two "
                            f"episodes with different support drawings (largest change {moved:.2g}): the "
                            f"scores must come from the LSTMs reading the episode")
        model_state(student, model, ways, hidden, f"MANN({ways}, {shots + 1}, {hidden})")
        student.call("metakit.grading.harness:load_arrays", model, grader_weights(seed, ways, hidden))
        reweighted = float(np.abs(forward(student, model, images, labels) - scores).max())
        check(reweighted > 1e-6, f"MANN({ways}, {shots + 1}, {hidden}).forward gave the same scores after the grader "
                                 f"loaded other weights into layer1 and layer2 (largest change {reweighted:.2g}): "
                                 f"the scores must be what layer2 outputs")


@graded(points=1, timeout=30)
def test_mann_layer_sizes(student):
    """MANN has the two given single-layer LSTMs (784+N -> hidden_dim -> N), hidden_dim 128 by default"""
    for seed, (ways, shots, hidden) in enumerate([(3, 1, None), (5, 2, 24), (2, 3, 7), (1, 1, 4)]):
        model, state, what = fresh_model(student, ways, shots, hidden, seed)
        info = student.call("metakit.grading.harness:parameter_info", model)
        frozen = [name for name in layer_names() if not info.get(name, {}).get("requires_grad", False)]
        check(not frozen, f"{what}: the parameters {', '.join(frozen[:3])} do not require gradients, so "
                          f"training cannot change them")
        images, labels = episode_inputs(200 + seed, 2, ways, shots)
        require_forward_matches(student, model, state, images, labels,
                                f"{what} with its own initial weights")


def _xavier_bounds(fan_in: int, rows: int) -> tuple[float, float]:
    """Xavier-uniform bounds of a [4H, fan_in] LSTM weight: fans of the whole matrix (what
    nn.init.xavier_uniform_ on the parameter gives), or of one gate's [H, fan_in] block."""
    return float(np.sqrt(6.0 / (fan_in + rows))), float(np.sqrt(6.0 / (fan_in + rows // 4)))


def _looks_uniform(values: np.ndarray, bound: float) -> bool:
    """Values that look like independent draws of U(-bound, bound) (hundreds of them or more)."""
    largest = float(np.abs(values).max())
    return largest <= bound * (1 + 1e-5) and largest > 0.8 * bound and abs(values.std() / (bound / np.sqrt(3)) - 1) < 0.15


def _check_uniform(values: np.ndarray, bounds: tuple[float, float], what: str) -> None:
    check(any(_looks_uniform(values, bound) for bound in bounds),
          f"{what} should be Xavier-uniform, i.e. uniform in [-{bounds[0]:.4g}, {bounds[0]:.4g}] (standard deviation "
          f"{bounds[0] / np.sqrt(3):.4g}); yours reach {float(np.abs(values).max()):.4g} with standard deviation "
          f"{float(values.std()):.4g}")


def _orthogonal(w_hh: np.ndarray) -> bool:
    """W^T W = I for the whole [4H, H] matrix (nn.init.orthogonal_ on it), or for each gate's block."""
    size = w_hh.shape[1]
    whole = np.allclose(w_hh.T @ w_hh, np.eye(size), atol=1e-4)
    per_gate = all(np.allclose(b.T @ b, np.eye(size), atol=1e-4) for b in np.split(w_hh, 4))
    return bool(whole or per_gate)


@graded(points=2, timeout=30)
def test_mann_initialisation(student):
    """MANN starts as documented: Xavier-uniform input weights (labels x10), orthogonal recurrent weights, forget bias 1"""
    for seed, (ways, shots, hidden) in enumerate([(3, 1, 32), (5, 2, 16), (2, 2, 48)]):
        model, state, what = fresh_model(student, ways, shots, hidden, 300 + seed)
        for layer, inputs, size in (("layer1", PIXELS + ways, hidden), ("layer2", hidden, ways)):
            w_ih = state[f"{layer}.weight_ih_l0"]
            bounds = _xavier_bounds(inputs, 4 * size)
            if layer == "layer1":
                _check_uniform(w_ih[:, :PIXELS], bounds, f"{what}.layer1.weight_ih_l0[:, :784] (the pixel inputs)")
                _check_uniform(w_ih[:, PIXELS:] / 10.0, bounds,
                               f"{what}.layer1.weight_ih_l0[:, 784:] / 10 (the label inputs, scaled up 10x "
                               f"after the Xavier init)")
            else:
                _check_uniform(w_ih, bounds, f"{what}.layer2.weight_ih_l0")
            w_hh = state[f"{layer}.weight_hh_l0"]
            check(_orthogonal(w_hh),
                  f"{what}.{layer}.weight_hh_l0 should be orthogonal (nn.init.orthogonal_: its {size} columns "
                  f"orthonormal, W^T W = I); W^T W differs from I by up to "
                  f"{float(np.abs(w_hh.T @ w_hh - np.eye(size)).max()):.3g}")
            # the gates see bias_ih + bias_hh: zero except the forget gate's block, which is 1
            expected = np.zeros(4 * size)
            expected[size:2 * size] = 1.0
            total = state[f"{layer}.bias_ih_l0"] + state[f"{layer}.bias_hh_l0"]
            check(np.array_equal(total, expected),
                  f"{what}.{layer}: the biases should be zero except the forget gate's block [{size}:{2 * size}] "
                  f"(gates in the order input, forget, cell, output), which starts at 1 (bias_ih + bias_hh, as the "
                  f"gates see them); yours have {int((total != 0).sum())} non-zero values, "
                  f"{int((total[size:2 * size] == 1).sum())} of the {size} forget-gate values equal to 1")
        images, labels = episode_inputs(310 + seed, 2, ways, shots)
        require_forward_matches(student, model, state, images, labels, f"{what} with its own initial weights")


# ------------------------------------------------------------------------------ forward
@graded(points=3, timeout=40)
def test_mann_forward_matches_the_two_lstms(student):
    """forward = zero query labels, concatenate, layer1, layer2 over the rows in order"""
    rng = np.random.default_rng(2024)
    configs = [(3, 3, 2, 10, 1.0), (2, 4, 1, 6, 1.0), (1, 1, 2, 5, 1.5), (2, 5, 3, 4, 0.7)]
    configs += [(int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(3, 13)),
                 float(rng.choice([0.5, 1.0, 2.0]))) for _ in range(6)]
    for seed, (batch, ways, shots, hidden, scale) in enumerate(configs):
        model, weights = build_model(student, ways, shots, hidden, seed=40 + seed, scale=scale)
        images, labels = episode_inputs(50 + seed, batch, ways, shots)
        require_forward_matches(student, model, weights, images, labels,
                                f"{ways}-way {shots}-shot, hidden {hidden}, batch {batch}, with the grader's "
                                f"weights in layer1 and layer2")


@graded(points=2, timeout=40)
def test_mann_gradients_reach_both_layers(student):
    """backpropagating through forward gives every parameter of layer1 and layer2 its true gradient"""
    for seed, (batch, ways, shots, hidden) in enumerate([(2, 3, 2, 8), (3, 2, 1, 5), (1, 4, 1, 6)]):
        model, weights = build_model(student, ways, shots, hidden, seed=90 + seed)
        images, labels = episode_inputs(95 + seed, batch, ways, shots)
        fn = student.attr(model, "forward", keep=True)
        out = student.call("metakit.grading.harness:input_grads", fn, tensor(images), tensor(labels))
        check(isinstance(out, dict) and out.get("grads") is not None,
              "MANN.forward's scores do not depend on the parameters through autograd (torch.no_grad, "
              ".detach(), .data, or a round trip through numpy in forward?)")
        as_array(out["output"], "MANN.forward's scores", shape=(batch, shots + 1, ways, ways))
        grads = student.call("metakit.grading.harness:grad_arrays", model)
        expected = reference_parameter_grads(weights, images, labels)
        for name in layer_names():
            got = grads.get(name) if isinstance(grads, dict) else None
            if got is None:
                fail(f"after backpropagating the sum of MANN.forward's scores, {name} has no gradient: the "
                     f"scores must be computed from layer1's output by layer2 without detaching anything "
                     f"(no .detach(), .data, torch.no_grad or numpy in between)")
            scale = max(1.0, float(np.abs(expected[name]).max()))
            close(got, expected[name], atol=1e-4 * scale, rtol=1e-3,
                  what=f"the gradient of sum(scores) with respect to {name} ({ways}-way {shots}-shot, "
                       f"hidden {hidden})")


@graded(points=2, timeout=30)
def test_query_labels_are_hidden(student):
    """the query predictions do not change when the query labels in the input change"""
    for seed, (batch, ways, shots, hidden) in enumerate([(4, 3, 2, 12), (3, 4, 1, 9)]):
        model, weights = build_model(student, ways, shots, hidden, seed=61 + 10 * seed)
        images, labels = episode_inputs(62 + 10 * seed, batch, ways, shots)
        baseline = forward(student, model, images, labels)[:, -1]
        rng = np.random.default_rng(63 + 10 * seed)
        decoys = {
            "all zeros": np.zeros((batch, ways, ways), np.float32),
            "all ones": np.ones((batch, ways, ways), np.float32),
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
        # the property only counts for a forward that computes the scores
        require_forward_matches(student, model, weights, images, labels,
                                f"{ways}-way {shots}-shot with the grader's weights (hiding the query labels "
                                f"only counts when forward also computes the scores)")


@graded(points=2, timeout=30)
def test_support_labels_are_read(student):
    """the query predictions change as they should when a support label changes"""
    for seed, (batch, ways, shots, hidden) in enumerate([(4, 3, 2, 12), (2, 2, 3, 7)]):
        model, weights = build_model(student, ways, shots, hidden, seed=71 + 10 * seed)
        images, labels = episode_inputs(72 + 10 * seed, batch, ways, shots)
        baseline = require_forward_matches(student, model, weights, images, labels,
                                           f"{ways}-way {shots}-shot with the grader's weights")[:, -1]
        for row, column in ((0, 0), (shots - 1, ways - 1), (shots // 2, ways // 2)):
            changed = labels.copy()
            changed[:, row, column] = np.roll(labels[:, row, column], 1, axis=-1)
            scores = forward(student, model, images, changed)
            gap = float(np.abs(scores[:, -1] - baseline).max())
            check(gap > 1e-3, f"changing the label of support row {row}, column {column} did not change the "
                              f"query predictions (largest change {gap:.2g}): the model must see the support "
                              f"labels; zero only row K, the query row, and concatenate the labels to the images")
            expected = reference_forward(weights, images, changed)
            check(np.allclose(scores, expected, atol=2e-5, rtol=1e-4),
                  f"with the label of support row {row}, column {column} changed, MANN.forward differs from the "
                  f"expected scores by up to {float(np.abs(scores - expected).max()):.3g}: every support label "
                  f"must reach layer1 at its own position in the sequence (row-major order)")


@graded(points=1, timeout=30)
def test_forward_leaves_labels_unchanged(student):
    """forward modifies neither the labels tensor it is given (the loss needs the query labels) nor the weights"""
    for seed, (batch, ways, shots, hidden) in enumerate([(3, 3, 1, 8), (2, 4, 2, 6)]):
        images, labels = episode_inputs(81 + seed, batch, ways, shots)
        model, weights = build_model(student, ways, shots, hidden, seed=85 + seed)
        # the labels tensor is held as a buffer of a plain module, and read back with the harness
        holder = student.call("torch.nn:Module", keep=True)
        student.method(holder, "register_buffer", "labels", tensor(labels))
        kept = student.attr(holder, "labels", keep=True)
        scores = as_array(student.method(model, "forward", tensor(images), kept),
                          "MANN.forward's scores", shape=labels.shape)
        held = student.call("metakit.grading.harness:state_arrays", holder)
        after = as_array(held.get("labels") if isinstance(held, dict) else None, "the labels after forward",
                         shape=labels.shape)
        check(np.array_equal(after, labels), "MANN.forward changed the labels tensor it was given (the query row "
                                             "became zeros?): zero the query row of a copy (labels.clone()), "
                                             "because the loss still needs the true query labels")
        state = model_state(student, model, ways, hidden, f"MANN({ways}, {shots + 1}, {hidden})")
        changed = [name for name in layer_names() if not np.array_equal(state[name], weights[name])]
        check(not changed, f"MANN.forward changed the parameters {', '.join(changed[:3])}: forward only reads "
                           f"the weights (any scaling belongs in __init__)")
        expected = reference_forward(weights, images, labels)
        check(np.allclose(scores, expected, atol=2e-5, rtol=1e-4),
              f"leaving the labels unchanged only counts when forward also computes the scores: MANN.forward "
              f"differs from the expected scores by up to {float(np.abs(scores - expected).max()):.3g}")
