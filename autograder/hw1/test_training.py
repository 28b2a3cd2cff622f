"""Hidden graders of hw1, part 4: a short meta-training run of the student's MANN and mann_loss.

Everything but the model and the loss is the grader's: it lays out the training episodes itself
(easy 2-way 1-shot episodes of the kit's glyphs, sent as a pool of training characters plus index
arrays, so a bug in make_mann_batch costs points in its own tests only), and the kit's public
``fit_fixed_batches`` runs Adam in the worker on the student's MANN and mann_loss.

What is scored is never the student's own forward or whatever object comes back: the grader reads
the trained parameters of layer1 and layer2 (which must all have changed, and have the documented
shapes), runs its own MANN (``conftest.reference_forward``, in the grading process) with them on
episodes of held-out characters, and computes the accuracy itself. A model that answers by some
fixed rule (a pixel nearest neighbour, say) instead of through its trained LSTMs, or a training
loop replaced by one that does not train, scores chance here.

``training_accuracy`` is also what ``benchmarks/calibrate_hw1.py`` runs, in-process, on 20 seeds.
"""
from __future__ import annotations

import functools

from typing import NamedTuple

import numpy as np
from conftest import layer_names, model_state, reference_forward

from metakit.grading import as_array, check, graded

WAYS, SHOTS = 2, 1
HIDDEN = 48
META_BATCH = 64
STEPS = 800
LR = 3e-3
EVAL_EPISODES = 500
THRESHOLD = 0.65  # chance 0.5; the reference: 20/20 seeds pass, min 0.777, median 0.940 (benchmarks/calibrate_hw1.py)


@functools.lru_cache(maxsize=1)
def glyph_pools() -> tuple[np.ndarray, np.ndarray]:
    """uint8 [C, D, 28, 28] pools of training and held-out glyph characters (disjoint)."""
    from metakit.blackbox import glyph_split

    data = glyph_split(seed=0)
    return data.train.images, data.test.images


def first_of_random_orders(rng: np.random.Generator, rows: int, size: int, keep: int, chunk: int = 2048) -> np.ndarray:
    """int64 [rows, keep]: the first ``keep`` items of a random order of ``range(size)`` for each row.

    The same numbers as ``np.argsort(rng.random((rows, size)), axis=1)[:, :keep]`` (the generator's
    stream is drawn in the same order), a chunk of rows at a time: the whole matrix would take
    hundreds of MB in the grading process (51,200 episodes x 480 characters), which Gradescope's
    container does not have.
    """
    out = np.empty((rows, keep), dtype=np.int64)
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        out[start:stop] = np.argsort(rng.random((stop - start, size)), axis=1)[:, :keep]
    return out


def layout_indices(rng: np.random.Generator, num_chars: int, drawers: int, episodes: int, ways: int,
                   shots: int) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own MANN layout, as indices into a pool.

    Returns picks int64 [E, K+1, N, 2] ((character, drawer) of every cell) and labels float32
    [E, K+1, N, N]: support rows in class order, the query row in a random order per episode.
    """
    chars = first_of_random_orders(rng, episodes, num_chars, ways)  # [E, N]
    draws = np.argsort(rng.random((episodes, ways, drawers)), axis=2)[:, :, : shots + 1]  # [E, N, K+1]
    order = np.argsort(rng.random((episodes, ways)), axis=1)  # [E, N]: class at each query position
    picks = np.zeros((episodes, shots + 1, ways, 2), dtype=np.int64)
    picks[:, :shots, :, 0] = chars[:, None, :]
    picks[:, :shots, :, 1] = draws[:, :, :shots].transpose(0, 2, 1)
    rows = np.arange(episodes)[:, None]
    picks[:, shots, :, 0] = chars[rows, order]
    picks[:, shots, :, 1] = draws[rows, order, shots]
    eye = np.eye(ways, dtype=np.float32)
    labels = np.concatenate([np.broadcast_to(eye, (episodes, shots, ways, ways)), eye[order][:, None]], axis=1)
    return picks, labels


def held_out_inputs(rng: np.random.Generator, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images [E, K+1, N, 784] float32, labels sent with random query rows, true query classes [E, N])."""
    picks, labels = layout_indices(rng, pool.shape[0], pool.shape[1], EVAL_EPISODES, WAYS, SHOTS)
    images = pool[picks[..., 0], picks[..., 1]].reshape(EVAL_EPISODES, SHOTS + 1, WAYS, -1)
    images = images.astype(np.float32) / 255.0
    truth = labels[:, -1].argmax(axis=-1)
    sent = labels.copy()
    sent[:, -1] = np.eye(WAYS, dtype=np.float32)[np.argsort(rng.random((EVAL_EPISODES, WAYS)), axis=1)]
    return images, sent, truth


class TrainingRun(NamedTuple):
    accuracy: float  # held-out query accuracy of the grader's MANN with the trained weights
    losses: list[float]  # as reported by the training loop in the worker (for the message only)
    unchanged: list[str]  # LSTM parameters that training did not change
    finite: bool  # every trained parameter is finite


def training_run(student, seed: int = 0) -> TrainingRun:
    """Train the student's MANN with its mann_loss on grader-laid-out glyph episodes; score the
    trained weights with the grader's own MANN on held-out characters (here, not in the worker)."""
    train_pool, test_pool = glyph_pools()
    rng = np.random.default_rng(seed)
    picks, labels = layout_indices(rng, train_pool.shape[0], train_pool.shape[1], STEPS * META_BATCH, WAYS, SHOTS)
    picks = picks.reshape(STEPS, META_BATCH, *picks.shape[1:])
    labels = labels.reshape(STEPS, META_BATCH, *labels.shape[1:])
    student.call("metakit.grading.harness:set_seed", seed)
    what = f"MANN({WAYS}, {SHOTS + 1}, {HIDDEN})"
    model = student.call("MANN", WAYS, SHOTS + 1, HIDDEN, keep=True)
    before = model_state(student, model, WAYS, HIDDEN, what)
    loss_fn = student.ref("mann_loss")
    losses = student.call("metakit.blackbox:fit_fixed_batches", model, loss_fn, train_pool, picks, labels,
                          lr=LR, seed=seed)
    losses = [float(x) for x in as_array(losses, "the training losses").reshape(-1)]
    after = model_state(student, model, WAYS, HIDDEN, f"the trained {what}")
    unchanged = [name for name in layer_names() if np.abs(after[name] - before[name]).max() < 1e-6]
    finite = all(np.isfinite(after[name]).all() for name in layer_names())
    images, sent, truth = held_out_inputs(rng, test_pool)
    accuracy = 0.0
    if finite:
        scores = reference_forward(after, images, sent)
        accuracy = float((scores[:, -1].argmax(axis=-1) == truth).mean())
    return TrainingRun(accuracy, losses, unchanged, finite)


def training_accuracy(student, seed: int = 0) -> tuple[float, list[float]]:
    """(held-out accuracy, training losses) of :func:`training_run`; what the calibration prints."""
    run = training_run(student, seed)
    return run.accuracy, run.losses


@graded(points=4, timeout=180)
def test_training_reaches_accuracy(student):
    """a short meta-training run of your MANN and mann_loss beats chance clearly on held-out characters"""
    run = training_run(student, seed=0)
    losses = run.losses
    check(len(losses) == STEPS and np.isfinite(losses).all() and run.finite,
          f"the training loss or the weights became NaN or inf after {len(losses)} of {STEPS} Adam steps "
          f"(lr {LR:g}): check mann_loss (a log of a softmax computed by hand? use F.cross_entropy on the scores)")
    check(not run.unchanged,
          f"{STEPS} Adam steps on your mann_loss left {', '.join(run.unchanged[:4])} of MANN unchanged: the "
          f"scores must come from layer1 and layer2 (forward runs the images and labels through both LSTMs, "
          f"and the loss is computed from those scores), so that training moves every parameter")
    first, last = (float(np.mean(losses[:20])), float(np.mean(losses[-50:]))) if losses else (float("nan"),) * 2
    check(run.accuracy >= THRESHOLD,
          f"after {STEPS} Adam steps (lr {LR:g}, meta-batch {META_BATCH}) on {WAYS}-way {SHOTS}-shot glyph "
          f"episodes laid out by the grader, your MANN(hidden_dim={HIDDEN}) trained with your mann_loss "
          f"classifies {100 * run.accuracy:.1f}% of the queries of {EVAL_EPISODES} episodes of held-out "
          f"characters correctly (scored with the trained layer1 and layer2 weights run as the handout's MANN); "
          f"the reference reaches at least {100 * THRESHOLD:.0f}% (chance: {100 / WAYS:.0f}%). The training "
          f"loss went from {first:.3f} to {last:.3f}. Check that forward zeroes the query labels (a model "
          f"trained to read them learns nothing about the images), that it does not change its labels "
          f"argument in place (the loss needs them), that the support labels reach the LSTM, and that the "
          f"loss is the cross-entropy of the query row")
