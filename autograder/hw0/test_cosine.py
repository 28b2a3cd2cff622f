"""Hidden graders of hw0: task_gradient_cosine, compared with the grader's own computation.

The fixed model is the kit's ProbeNet (a shared tanh layer and one output matrix per task), built from
the same seed here and in the worker; the expected cosines are computed here, in the grading process,
with torch, from the same numbers the worker receives.
"""
import numpy as np
import torch

from metakit.grading import as_array, check, close, graded, tensor
from metakit.multitask import ProbeNet, TaskBatch

NUM_TASKS, NUM_OUTPUTS, WIDTH, SEED = 3, 4, 8, 5


def batch_data(task: int, kind: str, count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = (0.05 * rng.random((count, 1, 28, 28))).astype(np.float32)   # small inputs: shared and task gradients of similar size
    z = np.eye(NUM_TASKS, dtype=np.float32)[[task] * count]
    if kind == "classification":
        y = rng.integers(0, NUM_OUTPUTS, size=count).astype(np.int64)
    else:
        y = rng.normal(size=count).astype(np.float32)
    return {"task": task, "x": x, "z": z, "y": y, "kind": kind, "num_outputs": NUM_OUTPUTS if kind == "classification" else 1}


def expected_cosine(a: dict, b: dict, shared_only: bool = True) -> float:
    """The cosine of the two batches' loss gradients on ProbeNet's shared parameters, computed here."""
    torch.manual_seed(0)
    model = ProbeNet(NUM_TASKS, NUM_OUTPUTS, width=WIDTH, seed=SEED).double()
    params = list(model.shared_parameters()) if shared_only else list(model.parameters())
    flat = []
    for data in (a, b):
        batch = TaskBatch(data["task"], torch.from_numpy(data["x"]).double(), torch.from_numpy(data["z"]).double(),
                          torch.from_numpy(data["y"]), data["kind"], data["num_outputs"])
        grads = torch.autograd.grad(batch.loss(model(batch.x, batch.z)), params)
        flat.append(torch.cat([g.reshape(-1) for g in grads]))
    return float(flat[0] @ flat[1] / (flat[0].norm() * flat[1].norm()))


def worker_batch(student, data: dict):
    return student.call("metakit.multitask:TaskBatch", data["task"], tensor(data["x"]), tensor(data["z"]),
                        tensor(data["y"]), data["kind"], data["num_outputs"], keep=True)


def student_cosine(student, model, a, b, what: str) -> float:
    value = student.call("task_gradient_cosine", model, a, b)
    check(isinstance(value, (int, float)) and not isinstance(value, bool),
          f"task_gradient_cosine should return a Python float; it returned {type(value).__name__} ({what})")
    return float(value)


PAIRS = [
    ("two classification tasks", batch_data(0, "classification", 12, 1), batch_data(1, "classification", 12, 2)),
    ("two batches of the same task", batch_data(2, "classification", 10, 3), batch_data(2, "classification", 10, 4)),
    ("a classification and a regression task", batch_data(0, "classification", 8, 5), batch_data(1, "regression", 8, 6)),
]


@graded(points=3, timeout=40)
def test_cosine_matches_grader(student):
    """task_gradient_cosine equals the cosine of the two tasks' gradients on the shared parameters"""
    model = student.call("metakit.multitask:ProbeNet", NUM_TASKS, NUM_OUTPUTS, width=WIDTH, seed=SEED, keep=True)
    for what, a, b in PAIRS:
        got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), what)
        expected = expected_cosine(a, b)
        everything = expected_cosine(a, b, shared_only=False)
        hint = (" (that is the cosine over all the parameters: use only model.shared_parameters())"
                if abs(got - everything) < 1e-4 else "")
        close(got, expected, atol=1e-4, what=f"task_gradient_cosine for {what} on a fixed model{hint}")
    same = worker_batch(student, PAIRS[0][1])
    close(student_cosine(student, model, same, same, "a batch with itself"), 1.0, atol=1e-5,
          what="task_gradient_cosine of a batch with itself")


@graded(points=1, timeout=30)
def test_cosine_leaves_model_alone(student):
    """task_gradient_cosine changes no parameter and leaves nothing in .grad"""
    model = student.call("metakit.multitask:ProbeNet", NUM_TASKS, NUM_OUTPUTS, width=WIDTH, seed=SEED, keep=True)
    before = student.call("metakit.grading.harness:state_arrays", model)
    _, a, b = PAIRS[0]
    student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), "two tasks")
    after = student.call("metakit.grading.harness:state_arrays", model)
    for name, value in before.items():
        close(after[name], value, atol=0, rtol=0, what=f"parameter {name} after task_gradient_cosine")
    grads = student.call("metakit.grading.harness:grad_arrays", model)
    left = sorted(name for name, g in grads.items() if g is not None)
    check(not left, f"task_gradient_cosine left gradients in .grad of {left}: compute them with "
                    f"torch.autograd.grad instead of .backward()")


@graded(points=1, timeout=30)
def test_cosine_without_shared_parameters(student):
    """task_gradient_cosine is 0.0 for a model that shares no parameters"""
    model = student.call("metakit.multitask:ProbeNet", NUM_TASKS, NUM_OUTPUTS, width=WIDTH, seed=SEED, shared=False,
                         keep=True)
    _, a, b = PAIRS[0]
    got = student_cosine(student, model, worker_batch(student, a), worker_batch(student, b), "no shared parameters")
    close(got, 0.0, atol=0, what="task_gradient_cosine for a model whose shared_parameters() is empty")
