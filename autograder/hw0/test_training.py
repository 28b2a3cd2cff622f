"""Hidden grader of hw0: a short multi-task training run with the student's model, sampler and loss.

The tasks (the same question asked of a few glyph alphabets) are built here, in the grading process,
and sent to the worker as arrays with every image's pixels shuffled by one secret, seeded permutation:
an MLP learns them exactly as well as the plain images, but no rule written in advance (such as the
kit's "upper half holds more ink") can answer them. The worker trains the student's TaskConditionedNet
with the kit's loop, driven by the student's sample_task_batch and multitask_loss. The grader then
reads the trained parameters back (harness ``state_arrays``), checks that training changed them and
that the model's own outputs are the docstring's "concat" network of those parameters, and scores
that network, computed here, on held-out images the worker never sees.
The threshold is calibrated by benchmarks/calibrate_hw0.py (the reference on 20 seeds).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from conftest import HARNESS, concat_candidates, concat_forward
from metakit.grading import as_array, check, graded, tensor

CONFIG = {"mode": "concat", "hidden": 32, "steps": 240, "tasks_per_batch": 4, "batch_size": 16, "lr": 3e-3}
DATA = {"num_alphabets": 4, "question": "top_heavy", "train_drawers": 3, "test_drawers": 5, "pixel_seed": 90211}
SEED = 0
THRESHOLD = 0.80   # calibrated: reference min 0.857 over 20 seeds (median 0.867); majority label 0.575, untrained 0.45-0.56


def scramble(images: np.ndarray) -> np.ndarray:
    """``images [N, 1, 28, 28]`` with their pixels in the grader's secret order (the same for every image)."""
    order = np.random.default_rng(DATA["pixel_seed"]).permutation(784)
    return images.reshape(len(images), -1)[:, order].reshape(images.shape)


@lru_cache(maxsize=1)
def training_data() -> tuple[list[dict], list[dict]]:
    """(training tasks as arrays for the worker, held-out test sets) of the glyph question tasks."""
    from metakit.multitask import glyph_tasks, taskset_to_arrays

    tasks = glyph_tasks(num_alphabets=DATA["num_alphabets"], recognise=False, questions=(DATA["question"],),
                        train_drawers=DATA["train_drawers"], test_drawers=DATA["test_drawers"])
    arrays = taskset_to_arrays(tasks)
    train = [{**a, "train_x": scramble(a["train_x"]), "test_x": scramble(a["train_x"][:1]), "test_y": a["train_y"][:1]}
             for a in arrays]   # the worker never sees the test sets
    test = [{"name": a["name"], "x": scramble(a["test_x"]).astype(np.float32) / 255.0, "y": a["test_y"]}
            for a in arrays]
    return train, test


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Binary accuracy of logits in column 0 (computed here)."""
    return float(((outputs[:, 0] > 0).astype(np.int64) == labels.round().astype(np.int64)).mean())


def majority(labels: np.ndarray) -> float:
    share = float(labels.round().mean())
    return max(share, 1.0 - share)


def documented_network(values: dict, model_outputs: np.ndarray, x: np.ndarray, z: np.ndarray, num_tasks: int):
    """The reading of the trained parameters as the docstring's concat network that reproduces the model's
    own outputs on ``x, z`` (None when no reading does)."""
    for layers in concat_candidates(values, num_tasks, 1, CONFIG["hidden"]):
        if np.allclose(concat_forward(layers, x, z), model_outputs, atol=1e-4, rtol=1e-3):
            return layers
    return None


@graded(points=3, timeout=60)
def test_multitask_training(student):
    """a short multi-task run (your model, sampler and loss in the kit's loop) learns every task"""
    train, test = training_data()
    num_tasks = len(train)
    taskset = student.call("metakit.multitask:taskset_from_arrays", train, keep=True)
    student.call(f"{HARNESS}:set_seed", SEED)
    model = student.call("TaskConditionedNet", num_tasks=num_tasks, num_outputs=1, conditioning=CONFIG["mode"],
                         hidden=CONFIG["hidden"], keep=True)
    before = student.call(f"{HARNESS}:state_arrays", model)
    student.call("metakit.multitask:train_multitask", model, taskset, student.ref("sample_task_batch"),
                 student.ref("multitask_loss"), steps=CONFIG["steps"], tasks_per_batch=CONFIG["tasks_per_batch"],
                 batch_size=CONFIG["batch_size"], lr=CONFIG["lr"], seed=SEED, progress=False, keep=True)
    student.method(model, "eval")
    after = student.call(f"{HARNESS}:state_arrays", model)
    check(isinstance(after, dict) and set(after) == set(before) and after,
          "after training, the model's parameters could not be read back")
    moved = [n for n in after if not np.array_equal(after[n], before[n])]
    check(moved, "training changed none of the model's parameters: the loop's optimiser steps did nothing "
                 "(does multitask_loss keep its gradient? does the model use its parameters?)")
    # the model's outputs must be the documented network of its trained parameters
    probe_x = np.concatenate([t["x"][:6] for t in test])
    probe_z = np.eye(num_tasks, dtype=np.float32)[np.repeat(np.arange(num_tasks), 6)]
    own = as_array(student.method(model, "__call__", tensor(probe_x), tensor(probe_z)), "the trained model's outputs",
                   shape=(len(probe_x), 1))
    check(np.isfinite(own).all(), "after training, the model's outputs contain NaN or inf")
    layers = documented_network(after, own, probe_x, probe_z, num_tasks)
    check(layers is not None,
          'after training, the outputs of TaskConditionedNet(conditioning="concat") are not the docstring\'s network '
          '(784 + T -> hidden -> hidden -> outputs with ReLUs) of its own parameters')
    scores, baselines = [], []
    for task, data in enumerate(test):
        z = np.eye(num_tasks, dtype=np.float32)[[task] * len(data["y"])]
        scores.append(accuracy(concat_forward(layers, data["x"], z), data["y"]))
        baselines.append(majority(data["y"]))
    mean = float(np.mean(scores))
    check(mean >= THRESHOLD,
          f'after {CONFIG["steps"]} steps of multi-task training (conditioning="{CONFIG["mode"]}", your sampler and '
          f'loss), the mean test accuracy over {num_tasks} tasks is {mean:.3f} (per task '
          f'{", ".join(f"{s:.2f}" for s in scores)}; always answering the majority label gives '
          f'{np.mean(baselines):.3f}); the reference reaches at least {THRESHOLD:.2f} on every seed we tried')
