"""Hidden graders of hw0: task_gradient_cosine, compared with the grader's own computation.

The model is the kit's ProbeNet (a shared tanh layer and one output matrix per task); the grader
writes its own random values into the worker's copy (harness ``load_arrays``) and builds the same
network here, so the expected cosines are computed in the grading process, with torch in float64,
from exactly the numbers the worker holds. A seeded sweep covers sizes, task kinds, single-row batches,
cosines near +1 and -1, a zero gradient and a model without shared parameters.
"""
from __future__ import annotations

import numpy as np
import torch

from conftest import HARNESS
from metakit.grading import check, close, fail, graded, tensor
from metakit.multitask import ProbeNet, TaskBatch

NUM_TASKS, NUM_OUTPUTS, WIDTH, SEED = 3, 4, 8, 5


def batch_data(task: int, kind: str, count: int, seed: int, num_tasks: int = NUM_TASKS,
               num_outputs: int = NUM_OUTPUTS) -> dict:
    rng = np.random.default_rng(seed)
    x = (0.05 * rng.random((count, 1, 28, 28))).astype(np.float32)   # small inputs: shared and task gradients of similar size
    z = np.eye(num_tasks, dtype=np.float32)[[task] * count]
    if kind == "classification":
        y = rng.integers(0, num_outputs, size=count).astype(np.int64)
    elif kind == "binary":
        y = (rng.random(count) > 0.5).astype(np.float32)
    else:
        y = rng.normal(size=count).astype(np.float32)
    return {"task": task, "x": x, "z": z, "y": y, "kind": kind, "num_outputs": num_outputs if kind == "classification" else 1}


def probe_values(num_tasks: int, num_outputs: int, width: int, seed: int, zero_task: int | None = None,
                 shift: bool = False) -> dict:
    """Grader-chosen ProbeNet parameters (``task_weights[zero_task] = 0``: that task's gradient is zero;
    ``shift``: the shared parameter that only task 0's rows reach)."""
    rng = np.random.default_rng(seed)
    values = {"shared.weight": (rng.normal(size=(width, 784)) * 3 / np.sqrt(784)).astype(np.float32),
              "shared.bias": rng.normal(size=width).astype(np.float32),
              "task_weights": (rng.normal(size=(num_tasks, width, num_outputs)) / np.sqrt(width)).astype(np.float32)}
    if zero_task is not None:
        values["task_weights"][zero_task] = 0.0
    if shift:
        values["shift"] = rng.normal(size=width).astype(np.float32)
    return values


def local_probe(values: dict) -> ProbeNet:
    num_tasks, width, num_outputs = values["task_weights"].shape
    model = ProbeNet(num_tasks, num_outputs, width=width, task0_shift="shift" in values).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(values[name]).double())
    return model


def expected_cosine(values: dict, a: dict, b: dict, shared_only: bool = True) -> float:
    """The cosine of the two batches' loss gradients on ProbeNet's shared parameters, computed here."""
    model = local_probe(values)
    params = list(model.shared_parameters()) if shared_only else list(model.parameters())
    flat = []
    for data in (a, b):
        batch = TaskBatch(data["task"], torch.from_numpy(data["x"]).double(), torch.from_numpy(data["z"]).double(),
                          torch.from_numpy(data["y"]), data["kind"], data["num_outputs"])
        grads = torch.autograd.grad(batch.loss(model(batch.x, batch.z)), params, allow_unused=True)
        flat.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, params)]))
    norms = float(flat[0].norm() * flat[1].norm())
    return 0.0 if norms == 0.0 else float(flat[0] @ flat[1] / norms)


def local_outputs(values: dict, data: dict) -> np.ndarray:
    with torch.no_grad():
        return local_probe(values)(torch.from_numpy(data["x"]).double(), torch.from_numpy(data["z"]).double()).numpy()


def worker_probe(student, values: dict, shared: bool = True):
    num_tasks, width, num_outputs = values["task_weights"].shape
    model = student.call("metakit.multitask:ProbeNet", num_tasks, num_outputs, width=width, shared=shared,
                         task0_shift="shift" in values, keep=True)
    student.call(f"{HARNESS}:load_arrays", model, values)
    return model


def worker_batch(student, data: dict):
    return student.call("metakit.multitask:TaskBatch", data["task"], tensor(data["x"]), tensor(data["z"]),
                        tensor(data["y"]), data["kind"], data["num_outputs"], keep=True)


def student_cosine(student, model, a, b, what: str) -> float:
    value = student.call("task_gradient_cosine", model, a, b)
    check(isinstance(value, float),
          f"task_gradient_cosine should return a Python float; it returned {type(value).__name__} ({what})")
    return value


PAIRS = [
    ("two classification tasks", batch_data(0, "classification", 12, 1), batch_data(1, "classification", 12, 2)),
    ("two batches of the same task", batch_data(2, "classification", 10, 3), batch_data(2, "classification", 10, 4)),
    ("a classification and a regression task", batch_data(0, "classification", 8, 5), batch_data(1, "regression", 8, 6)),
]
VALUES = probe_values(NUM_TASKS, NUM_OUTPUTS, WIDTH, SEED)


def sweep_cases(seed: int = 61, count: int = 6):
    """Seeded random configurations: (what, ProbeNet values, batch a, batch b)."""
    rng = np.random.default_rng(seed)
    kinds = ("classification", "binary", "regression")
    for number in range(count):
        t, o, w = int(rng.integers(2, 5)), int(rng.integers(1, 6)), int(rng.integers(3, 13))
        values = probe_values(t, o, w, seed=seed * 100 + number)
        ka, kb = kinds[number % 3], kinds[int(rng.integers(0, 3))]
        if o == 1:
            ka, kb = ("binary" if ka == "classification" else ka), ("regression" if kb == "classification" else kb)
        ta, tb = int(rng.integers(0, t)), int(rng.integers(0, t))
        na, nb = (1, int(rng.integers(1, 10))) if number == 0 else (int(rng.integers(2, 12)), int(rng.integers(2, 12)))
        a = batch_data(ta, ka, na, seed * 10 + number, t, o)
        b = batch_data(tb, kb, nb, seed * 10 + number + 5, t, o)
        yield f"T={t}, O={o}, width {w}: task {ta} ({ka}, {na} rows) and task {tb} ({kb}, {nb} rows)", values, a, b


@graded(points=3, timeout=40)
def test_cosine_matches_grader(student):
    """task_gradient_cosine equals the cosine of the two tasks' gradients on the shared parameters"""
    model = worker_probe(student, VALUES)
    for what, a, b in PAIRS:
        got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), what)
        expected = expected_cosine(VALUES, a, b)
        everything = expected_cosine(VALUES, a, b, shared_only=False)
        hint = (" (that is the cosine over all the parameters: use only model.shared_parameters())"
                if abs(got - everything) < 1e-4 else "")
        close(got, expected, atol=1e-4, what=f"task_gradient_cosine for {what} on a fixed model{hint}")
    same = worker_batch(student, PAIRS[0][1])
    close(student_cosine(student, model, same, same, "a batch with itself"), 1.0, atol=1e-5,
          what="task_gradient_cosine of a batch with itself")
    # a regression batch whose residuals are the negatives of another's: opposite gradients, cosine -1
    a = batch_data(1, "regression", 6, 7)
    prediction = local_outputs(VALUES, a)[:, 0]
    b = {**a, "y": (2 * prediction - a["y"]).astype(np.float32)}
    close(student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), "opposite gradients"),
          expected_cosine(VALUES, a, b), atol=1e-4,
          what="task_gradient_cosine of two regression batches with opposite residuals (about -1)")


@graded(points=2, timeout=50)
def test_cosine_random_sweep(student):
    """task_gradient_cosine matches the grader on random models, task kinds and batch sizes (one row too)"""
    for what, values, a, b in sweep_cases():
        model = worker_probe(student, values)
        got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), what)
        close(got, expected_cosine(values, a, b), atol=1e-4, what=f"task_gradient_cosine for {what}")


@graded(points=1, timeout=30)
def test_cosine_leaves_model_alone(student):
    """task_gradient_cosine changes no parameter, leaves .grad as it found it, and still computes the cosine"""
    model = worker_probe(student, VALUES)
    _, a, b = PAIRS[0]
    # gradients already in .grad (as in the middle of training) must stay exactly as they are
    student.call(f"{HARNESS}:input_grads", model, tensor(a["x"]), tensor(a["z"]))
    grads_before = student.call(f"{HARNESS}:grad_arrays", model)
    before = student.call(f"{HARNESS}:state_arrays", model)
    info_before = student.call(f"{HARNESS}:parameter_info", model)
    got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), "two tasks")
    close(got, expected_cosine(VALUES, a, b), atol=1e-4, what="task_gradient_cosine for two classification tasks")
    after = student.call(f"{HARNESS}:state_arrays", model)
    for name, value in before.items():
        close(after[name], value, atol=0, rtol=0, what=f"parameter {name} after task_gradient_cosine")
    check(student.call(f"{HARNESS}:parameter_info", model) == info_before,
          "task_gradient_cosine changed the parameters' requires_grad flags: leave the model as it was")
    grads = student.call(f"{HARNESS}:grad_arrays", model)
    for name, g in grads_before.items():
        check(grads[name] is not None and np.array_equal(grads[name], g),
              f"task_gradient_cosine changed the .grad of {name} (it held the gradients of an earlier backward): "
              f"compute the gradients with torch.autograd.grad, do not call .backward() or zero_grad()")
    fresh = worker_probe(student, VALUES)
    student_cosine(student, fresh, worker_batch(student, a), worker_batch(student, b), "two tasks")
    left = sorted(name for name, g in student.call(f"{HARNESS}:grad_arrays", fresh).items() if g is not None)
    check(not left, f"task_gradient_cosine left gradients in .grad of {left}: compute them with "
                    f"torch.autograd.grad instead of .backward()")


@graded(points=1, timeout=30)
def test_cosine_without_shared_parameters(student):
    """task_gradient_cosine: 0.0 without shared parameters or with a zero gradient; an unreached shared parameter counts as 0"""
    _, a, b = PAIRS[0]
    shared = worker_probe(student, VALUES)
    close(student_cosine(student, shared, worker_batch(student, a), worker_batch(student, b), "two tasks"),
          expected_cosine(VALUES, a, b), atol=1e-4, what="task_gradient_cosine for two classification tasks")
    model = worker_probe(student, VALUES, shared=False)
    got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), "no shared parameters")
    close(got, 0.0, atol=0, what="task_gradient_cosine for a model whose shared_parameters() is empty")
    silent = probe_values(NUM_TASKS, NUM_OUTPUTS, WIDTH, SEED, zero_task=1)      # task 1's output is always 0
    model = worker_probe(student, silent)
    for first, second, which in ((a, b, "batch_b's"), (b, a, "batch_a's")):
        got = student_cosine(student, model, worker_batch(student, first), worker_batch(student, second),
                             "a zero gradient")
        if not np.isfinite(got) or got != 0.0:
            fail(f"task_gradient_cosine should return 0.0 when one task's gradient on the shared parameters is zero "
                 f"(its output does not depend on them; here {which}); it returned {got}")
    # a shared parameter that only task 0's rows reach: for tasks 1 and 2 its gradient is zero (None from
    # autograd.grad with allow_unused), not an error
    branch = probe_values(NUM_TASKS, NUM_OUTPUTS, WIDTH, SEED, shift=True)
    model = worker_probe(student, branch)
    for what, first, second in (("tasks 1 and 2, which never reach the shared `shift`", batch_data(1, "classification", 9, 11),
                                 batch_data(2, "regression", 9, 12)),
                                ("task 0, which reaches `shift`, and task 1, which does not", batch_data(0, "classification", 9, 13),
                                 batch_data(1, "classification", 9, 14))):
        got = student_cosine(student, model, worker_batch(student, first), worker_batch(student, second), what)
        close(got, expected_cosine(branch, first, second), atol=1e-4,
              what=f"task_gradient_cosine for {what} (a shared parameter a task's loss does not reach has a zero "
                   f"gradient for that task: torch.autograd.grad(..., allow_unused=True) gives None for it)")
