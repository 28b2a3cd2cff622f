"""Shared helpers of the hw0 hidden graders (they run in the grading process, never in the worker).

The tests import them with ``from conftest import ...``. Nothing here imports student code: the
student's objects stay in the worker and come back as plain arrays through the ``student`` session.
Inside the worker the graders call only the student's own names and ``metakit.grading.harness``
(never a helper of ``metakit.multitask``, which a submission could use as an answer or replace):
gradients, shared-parameter identities and every expected value are worked out here.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from metakit.grading import Ref, StudentError, as_array, check, fail, tensor

MODES = ("independent", "concat", "additive", "multihead", "multiplicative")
NUM_TASKS, NUM_OUTPUTS, HIDDEN = 3, 4, 16
HARNESS = "metakit.grading.harness"


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
    student.call(f"{HARNESS}:set_seed", seed)
    model = student.call("TaskConditionedNet", num_tasks=num_tasks, num_outputs=num_outputs, conditioning=mode,
                         hidden=hidden, keep=True)
    if randomize:
        info = parameter_shapes(student, model, mode)
        rng = np.random.default_rng(seed + 100)
        values = {}
        for name, shape in sorted(info.items()):
            scale = 1.0 / np.sqrt(shape[-1]) if len(shape) >= 2 else 0.3
            values[name] = (rng.normal(size=shape) * scale).astype(np.float32)
        student.call(f"{HARNESS}:load_arrays", model, values)
    return model


def parameter_shapes(student, model, mode: str = "") -> dict[str, tuple]:
    """``{name: shape}`` of the model's parameters (``named_parameters``)."""
    info = student.call(f"{HARNESS}:parameter_info", model)
    where = f' (conditioning="{mode}")' if mode else ""
    check(isinstance(info, dict) and info, f"could not list the parameters of your TaskConditionedNet{where}: "
                                           f"it has no nn.Parameter")
    return {name: tuple(int(s) for s in spec["shape"]) for name, spec in info.items()}


def outputs(student, model, x: np.ndarray, z: np.ndarray, mode: str = "", num_outputs: int = NUM_OUTPUTS) -> np.ndarray:
    """``model(x, z)`` as float64 ``[B, num_outputs]``, or a failure that says what came back."""
    where = f'TaskConditionedNet(conditioning="{mode}")' if mode else "TaskConditionedNet"
    value = student.method(model, "__call__", tensor(x), tensor(z))
    array = as_array(value, f"the output of {where}(x, z)", shape=(len(x), num_outputs))
    check(np.isfinite(array).all(), f"{where}(x, z) returned NaN or inf")
    return array


def require_responsive(student, model, mode: str, num_tasks: int = NUM_TASKS, num_outputs: int = NUM_OUTPUTS,
                       seed: int = 90) -> None:
    """Fail unless the output changes with the images and with the task (a constant model does nothing)."""
    x = random_images(4, seed)
    z = one_hot([t % num_tasks for t in range(4)], num_tasks)
    first = outputs(student, model, x, z, mode, num_outputs)
    other_x = outputs(student, model, random_images(4, seed + 1), z, mode, num_outputs)
    other_z = outputs(student, model, x, one_hot([(t + 1) % num_tasks for t in range(4)], num_tasks), mode,
                      num_outputs)
    check(np.abs(first - other_x).max() > 1e-6,
          f'TaskConditionedNet.forward with conditioning="{mode}": the output does not depend on the images x: the '
          f'network does not work yet')
    check(np.abs(first - other_z).max() > 1e-6,
          f'TaskConditionedNet.forward with conditioning="{mode}": the output does not depend on the task '
          f'descriptor z')


def gradient_supports(student, model, seed: int, num_tasks: int = NUM_TASKS, count: int = 6) -> list[dict]:
    """For every task t: ``{parameter name: bool mask of the entries whose gradient is non-zero}``
    for the sum of the outputs on ``count`` random images with descriptor ``e_t``.

    The gradients come from the harness (a backward of the model's own output, then ``.grad``), never
    from a kit helper; ``.grad`` is cleared before each task.
    """
    x = random_images(count, seed)
    shapes = parameter_shapes(student, model)
    supports = []
    for task in range(num_tasks):
        student.method(model, "zero_grad", set_to_none=True)
        student.call(f"{HARNESS}:input_grads", model, tensor(x), tensor(one_hot([task] * count, num_tasks)))
        grads = student.call(f"{HARNESS}:grad_arrays", model)
        check(isinstance(grads, dict) and set(grads) == set(shapes),
              "could not read the gradients of your TaskConditionedNet")
        supports.append({name: (np.zeros(shapes[name], bool) if g is None else np.abs(np.asarray(g, np.float64)) > 0)
                         for name, g in grads.items()})
    student.method(model, "zero_grad", set_to_none=True)
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
    """Names of what ``shared_parameters()`` returns, identified here by their values.

    The list must be a ``list`` of the model's own, live ``nn.Parameter`` objects: each element must
    hold exactly the values of one parameter, and still do after the grader writes new values into the
    model (a copy, ``.data`` or ``.detach()`` would keep the old ones).
    """
    where = f'shared_parameters() of conditioning="{mode}"'
    listed = student.method(model, "shared_parameters", keep=True)
    check(listed.type == "list", f"{where} should return a list of the model's nn.Parameter objects; it returned "
                                 f"a {listed.type}")
    count = student.call("builtins:len", listed)
    check(isinstance(count, int) and count >= 0, f"{where}: could not count the parameters it returned")
    kinds = [student.method(listed, "__getitem__", i, keep=True).type for i in range(count)]
    check(all(k == "Parameter" for k in kinds), f"{where} should return nn.Parameter objects (the model's own); "
                                                f"it returned {kinds}")
    names: list[str] = []
    for attempt in range(2):
        state = student.call(f"{HARNESS}:state_arrays", model)
        params = set(parameter_shapes(student, model))
        found = []
        for i in range(count):
            value = np.asarray(student.method(listed, "__getitem__", i), np.float64)
            matches = [n for n in sorted(params) if n in state and state[n].shape == value.shape
                       and np.array_equal(state[n], value)]
            check(len(matches) == 1, f"{where}: element {i} (shape {list(value.shape)}) is not one of the model's "
                                     f"parameters (return the nn.Parameter objects themselves)")
            found.append(matches[0])
        if attempt == 0:
            names = found
            rng = np.random.default_rng(4242)
            fresh = {n: rng.normal(size=state[n].shape).astype(np.float32) for n in params if n in state}
            student.call(f"{HARNESS}:load_arrays", model, fresh)
        else:
            check(found == names, f"{where} returned copies, not the model's live parameters (after the model's "
                                  f"parameters changed, the returned tensors did not follow)")
            check(len(set(names)) == len(names), f"{where} returned a parameter more than once: {names}")
    return names


def raises_value_error(student, target: str, *args, **kwargs) -> tuple[bool, str]:
    """Did ``target(*args, **kwargs)`` raise ValueError in the worker? (and what happened otherwise)"""
    ok, text = raised(student, target, *args, **kwargs)
    return ok, text.splitlines()[0] if text else "it returned without raising"


def raised(student, target: str, *args, **kwargs) -> tuple[bool, str]:
    """(raised ValueError, the whole error text) of ``target(*args, **kwargs)`` in the worker."""
    try:
        student.call(target, *args, **kwargs)
    except StudentError as exc:
        text = str(exc)
        return "raised ValueError" in text, text
    return False, ""


# ------------------------------------------------------------------ the documented architecture
def parameter_count(mode: str, num_tasks: int, num_outputs: int, hidden: int) -> int:
    """How many numbers the docstring's network holds (784 -> hidden -> hidden -> outputs)."""
    t, o, h = num_tasks, num_outputs, hidden
    base = 784 * h + h + h * h + h + h * o + o
    return {"independent": t * base, "concat": base + t * h, "additive": base + t * h,
            "multiplicative": base + t * h, "multihead": base + (t - 1) * (h * o + o)}[mode]


def shared_count(mode: str, num_tasks: int, num_outputs: int, hidden: int) -> int:
    """How many of those numbers are in shared parameter tensors."""
    t, o, h = num_tasks, num_outputs, hidden
    trunk = 784 * h + h + h * h + h
    return {"independent": 0, "concat": trunk + t * h + h * o + o, "additive": trunk + h * o + o,
            "multiplicative": trunk + h * o + o, "multihead": trunk}[mode]


def designed_values(shapes: dict[str, tuple], mode: str, num_tasks: int, num_outputs: int, hidden: int,
                    seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Grader-chosen values for every parameter, chosen by its shape (names are the student's).

    Returns (values to load, the layer values they stand for). The two hidden biases get the same
    vector and the hidden-to-hidden matrix is symmetric, and every copy of a per-task layer (a head,
    an independent network) the same values, so the network's function does not depend on which
    parameter is which, nor on the orientation (``x @ W`` or ``W @ x``) of the student's matrices.
    A shape that is none of the docstring's layers fails with a message.
    """
    t, o, h = num_tasks, num_outputs, hidden
    rng = np.random.default_rng(seed)
    square = rng.normal(size=(h, h)) / np.sqrt(h)
    layers = {"W1": rng.normal(size=(h, 784)) * 2.0 / np.sqrt(784), "b": rng.normal(size=h) * 0.5,
              "Z": rng.normal(size=(h, t)), "W2": (square + square.T) / np.sqrt(2) * 1.5,
              "W3": rng.normal(size=(o, h)) / np.sqrt(h), "b3": rng.normal(size=o) * 0.5}
    layers = {k: v.astype(np.float32).astype(np.float64) for k, v in layers.items()}
    by_shape: dict[tuple, np.ndarray] = {}

    def allow(value: np.ndarray) -> None:
        by_shape.setdefault(value.shape, value)
        if value.ndim == 2:
            by_shape.setdefault(value.T.shape, value.T)

    allow(layers["W1"])
    allow(layers["b"])
    allow(layers["W2"])
    allow(layers["W3"])
    allow(layers["b3"])
    if mode in ("concat", "additive", "multiplicative"):
        allow(layers["Z"])
    if mode == "concat":
        allow(np.concatenate([layers["W1"], layers["Z"]], axis=1))
    if mode in ("independent", "multihead"):   # per-task layers may be stacked in one tensor [T, ...]
        per_task = ["W3", "b3"] if mode == "multihead" else ["W1", "b", "W2", "W3", "b3"]
        for key in per_task:
            for value in ([layers[key]] + ([layers[key].T] if layers[key].ndim == 2 else [])):
                by_shape.setdefault((t, *value.shape), np.broadcast_to(value, (t, *value.shape)))
    values = {}
    for name, shape in shapes.items():
        if shape not in by_shape:
            fail(f'TaskConditionedNet(num_tasks={t}, num_outputs={o}, conditioning="{mode}", hidden={h}) has a '
                 f'parameter {name} of shape {list(shape)}, which is none of the layers the docstring lists for '
                 f'this conditioning (784 -> hidden -> hidden -> num_outputs; z read as the table says)')
        values[name] = np.ascontiguousarray(by_shape[shape]).astype(np.float32)
    return values, layers


def documented_forward(mode: str, layers: dict[str, np.ndarray], x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The docstring's network, in float64 here: ``x [B, 1, 28, 28]``, ``z [B, T]`` -> ``[B, O]``.

    Uses one set of layer values for every task's copy (see :func:`designed_values`), so the per-task
    sums of "independent" and "multihead" are ``sum_t z_t`` times one network.
    """
    relu = lambda v: np.maximum(v, 0.0)  # noqa: E731
    x = x.reshape(len(x), -1).astype(np.float64)
    z = z.astype(np.float64)
    pre = x @ layers["W1"].T + layers["b"]
    if mode == "concat":
        h1 = relu(pre + z @ layers["Z"].T)
    elif mode == "additive":
        h1 = relu(pre + z @ layers["Z"].T)
    elif mode == "multiplicative":
        h1 = relu(pre) * (z @ layers["Z"].T)
    else:
        h1 = relu(pre)
    out = relu(h1 @ layers["W2"].T + layers["b"]) @ layers["W3"].T + layers["b3"]
    if mode in ("independent", "multihead"):
        out = z.sum(axis=1, keepdims=True) * out
    return out


def concat_candidates(values: dict[str, np.ndarray], num_tasks: int, num_outputs: int, hidden: int) -> list[dict]:
    """Every reading of a "concat" model's parameters as the docstring's layers (trained values).

    Matrices are oriented by their shapes; what shapes cannot tell apart (which ``[hidden]`` vector is
    the first layer's bias, the orientation of the ``[hidden, hidden]`` matrix) is enumerated.
    Returns dicts with ``W1 [h, 784]``, ``Z [h, T]``, ``b1``, ``b2``, ``W2``, ``W3 [O, h]``, ``b3``.
    """
    t, o, h = num_tasks, num_outputs, hidden
    found: dict[str, list[np.ndarray]] = {"W1": [], "Z": [], "WZ": [], "b": [], "W2": [], "W3": [], "b3": []}
    for value in values.values():
        v = np.asarray(value, np.float64)
        if v.shape in ((h, 784 + t), (784 + t, h)):
            found["WZ"].append(v if v.shape[0] == h else v.T)
        elif v.shape in ((h, 784), (784, h)):
            found["W1"].append(v if v.shape[0] == h else v.T)
        elif v.shape in ((h, t), (t, h)):
            found["Z"].append(v if v.shape[0] == h else v.T)
        elif v.shape == (h,):
            found["b"].append(v)
        elif v.shape == (h, h):
            found["W2"].append(v)
        elif v.shape in ((o, h), (h, o)) and o != h:
            found["W3"].append(v if v.shape[0] == o else v.T)
        elif v.shape == (o,):
            found["b3"].append(v)
        else:
            return []
    if len(found["WZ"]) == 1 and not found["W1"] and not found["Z"]:
        found["W1"], found["Z"] = [found["WZ"][0][:, :784]], [found["WZ"][0][:, 784:]]
    if not (len(found["W1"]) == len(found["Z"]) == len(found["W2"]) == len(found["W3"]) == len(found["b3"]) == 1
            and len(found["b"]) == 2):
        return []
    candidates = []
    for first, second in ((0, 1), (1, 0)):
        for w2 in (found["W2"][0], found["W2"][0].T):
            candidates.append({"W1": found["W1"][0], "Z": found["Z"][0], "b1": found["b"][first],
                               "b2": found["b"][second], "W2": w2, "W3": found["W3"][0], "b3": found["b3"][0]})
    return candidates


def concat_forward(layers: dict[str, np.ndarray], x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The docstring's "concat" network with trained layer values, float64: ``[B, O]``."""
    x = x.reshape(len(x), -1).astype(np.float64)
    h1 = np.maximum(x @ layers["W1"].T + z.astype(np.float64) @ layers["Z"].T + layers["b1"], 0.0)
    h2 = np.maximum(h1 @ layers["W2"].T + layers["b2"], 0.0)
    return h2 @ layers["W3"].T + layers["b3"]


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
