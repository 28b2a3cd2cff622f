"""Shared helpers of the hw0 hidden graders (they run in the grading process, never in the worker).

The tests import them with ``from conftest import ...``. Nothing here imports student code: the
student's objects stay in the worker and come back as plain arrays through the ``student`` session.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from metakit.grading import StudentError, as_array, check, tensor

MODES = ("independent", "concat", "additive", "multihead", "multiplicative")
NUM_TASKS, NUM_OUTPUTS, HIDDEN = 3, 4, 16


# ------------------------------------------------------------------ data
def one_hot(task_ids, num_tasks: int = NUM_TASKS) -> np.ndarray:
    """``[len(task_ids), num_tasks]`` float32 one-hot rows."""
    return np.eye(num_tasks, dtype=np.float32)[np.asarray(task_ids)]


def random_images(count: int, seed: int) -> np.ndarray:
    """``[count, 1, 28, 28]`` float32 images in [0, 1], seeded."""
    return np.random.default_rng(seed).random((count, 1, 28, 28)).astype(np.float32)


# ------------------------------------------------------------------ the student's model
def build_model(student, mode: str, seed: int = 0, num_tasks: int = NUM_TASKS, num_outputs: int = NUM_OUTPUTS,
                hidden: int = HIDDEN, randomize: bool = True):
    """A ``TaskConditionedNet`` in the worker (a Ref), built after seeding torch.

    With ``randomize`` every parameter is then overwritten with grader-chosen random values (normal,
    standard deviation 1/sqrt(last dimension)), so that what the tests see is the architecture's
    behaviour, not an initialisation (a gate initialised to ones, heads initialised to zero).
    """
    student.call("metakit.grading.harness:set_seed", seed)
    model = student.call("TaskConditionedNet", num_tasks=num_tasks, num_outputs=num_outputs, conditioning=mode,
                         hidden=hidden, keep=True)
    if randomize:
        info = student.call("metakit.grading.harness:parameter_info", model)
        check(isinstance(info, dict), "could not list the parameters of your TaskConditionedNet")
        rng = np.random.default_rng(seed + 100)
        values = {}
        for name, spec in sorted(info.items()):
            shape = tuple(int(s) for s in spec["shape"])
            scale = 1.0 / np.sqrt(shape[-1]) if len(shape) >= 2 else 0.3
            values[name] = (rng.normal(size=shape) * scale).astype(np.float32)
        student.call("metakit.grading.harness:load_arrays", model, values)
    return model


def outputs(student, model, x: np.ndarray, z: np.ndarray, mode: str = "", num_outputs: int = NUM_OUTPUTS) -> np.ndarray:
    """``model(x, z)`` as float64 ``[B, num_outputs]``, or a failure that says what came back."""
    where = f'TaskConditionedNet(conditioning="{mode}")' if mode else "TaskConditionedNet"
    value = student.method(model, "__call__", tensor(x), tensor(z))
    array = as_array(value, f"the output of {where}(x, z)", shape=(len(x), num_outputs))
    check(np.isfinite(array).all(), f"{where}(x, z) returned NaN or inf")
    return array


def gradient_supports(student, model, seed: int, num_tasks: int = NUM_TASKS, count: int = 6) -> list[dict]:
    """For every task t: ``{parameter name: bool mask of the entries whose gradient is non-zero}``
    for a random weighted sum of the outputs on ``count`` random images with descriptor ``e_t``."""
    rng = np.random.default_rng(seed)
    x = random_images(count, seed)
    supports = []
    for task in range(num_tasks):
        weights = rng.normal(size=(count, NUM_OUTPUTS)).astype(np.float32)
        grads = student.call("metakit.multitask:output_gradients", model, tensor(x), tensor(one_hot([task] * count)),
                             tensor(weights))
        supports.append({name: np.abs(np.asarray(g, dtype=np.float64)) > 0 for name, g in grads.items()})
    return supports


def sharing(supports: list[dict]) -> dict[str, set]:
    """Classify parameters by the entries the tasks' gradients touch.

    ``shared``: for every pair of tasks, some entry gets gradient from both; ``own``: no pair shares an
    entry and some task touches it; ``unused``: no task touches it; ``mixed``: anything else.
    """
    names = list(supports[0])
    result = {"shared": set(), "own": set(), "unused": set(), "mixed": set()}
    for name in names:
        masks = [s[name] for s in supports]
        overlaps = [bool((a & b).any()) for a, b in combinations(masks, 2)]
        if not any(m.any() for m in masks):
            result["unused"].add(name)
        elif all(overlaps):
            result["shared"].add(name)
        elif not any(overlaps):
            result["own"].add(name)
        else:
            result["mixed"].add(name)
    return result


def own_parameters(supports: list[dict], task: int, shared: set) -> set:
    """Non-shared parameters that receive gradient from ``task``."""
    return {name for name, mask in supports[task].items() if name not in shared and mask.any()}


def shared_names(student, model, mode: str) -> list[str]:
    names = student.call("metakit.multitask:shared_parameter_names", model)
    check(isinstance(names, list), f'shared_parameters() of conditioning="{mode}" should return a list of parameters')
    return names


def raises_value_error(student, target: str, *args, **kwargs) -> tuple[bool, str]:
    """Did ``target(*args, **kwargs)`` raise ValueError in the worker? (and what happened otherwise)"""
    try:
        student.call(target, *args, **kwargs)
    except StudentError as exc:
        text = str(exc)
        return "raised ValueError" in text, text.splitlines()[0]
    return False, "it returned without raising"


# ------------------------------------------------------------------ statistics
def chi_square_p_value(counts, probabilities) -> float:
    """Pearson's chi-square goodness-of-fit p-value of ``counts`` against ``probabilities``."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.asarray(probabilities, dtype=np.float64) * counts.sum()
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return upper_gamma_regularized((len(counts) - 1) / 2.0, statistic / 2.0)


def upper_gamma_regularized(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): series for x < a + 1, continued fraction otherwise."""
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        for n in range(1, 1000):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_prefix) * h
