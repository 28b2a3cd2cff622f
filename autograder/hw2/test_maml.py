"""Hidden graders of hw2, part B: inner_loop and MAML.outer_step.

Every test chooses the parameters (a tiny conv4: 3-way, 4 filters), the inner learning rates (a
different one per parameter tensor) and the tasks, loads them into the student's worker, and
compares what comes back with the grader's own float64 computation (conftest.py). Meta-gradients
are read from the parameter change of one plain SGD step (outer_optimizer="sgd"), so they do not
depend on where the student zeroes the gradients.
"""
import numpy as np
from conftest import (PARAM_ORDER, adapt, grader_lrs, grader_params, meta_reference, random_task, relative_gap,
                      send_task, to_torch, worst_entry)

from metakit.grading import as_array, check, close, fail, graded, tensor

WAYS, HIDDEN = 3, 4
GRAD_TOL = 2e-3          # relative error allowed on a whole meta-gradient (float32 worker vs float64 grader)
APART = 0.05             # first- and second-order references must differ by more than this (sanity)


def _send_params(params: dict, requires_grad: bool) -> dict:
    return {name: tensor(value, requires_grad=requires_grad) for name, value in params.items()}


def _send_lrs(student, lrs: dict) -> dict:
    """Scalar (0-d) float32 tensors made in the worker (the wire turns 0-d arrays into shape [1])."""
    return {name: student.call("torch:tensor", float(value), keep=True) for name, value in lrs.items()}


def _scalar(value, what: str) -> float:
    array = as_array(value, what)
    check(array.size == 1, f"{what} should be one number; got shape {list(array.shape)}")
    return float(array.reshape(-1)[0])


def _adapted_dict(value, params: dict, what: str) -> dict:
    check(isinstance(value, dict), f"{what}: the adapted parameters should be a dict name -> tensor; got "
                                   f"{type(value).__name__}")
    missing = sorted(set(params) - set(value))
    check(not missing, f"{what}: the adapted parameters have no entry {missing[:3]} (keep the names of params)")
    return {name: as_array(value[name], f"{what}: adapted['{name}']", shape=params[name].shape) for name in params}


def _reference_adapt(params: dict, lrs: dict, task: tuple, steps: int, lr_map=None) -> tuple[dict, list, list]:
    import torch

    sx, sy = torch.tensor(task[0], dtype=torch.float64), torch.tensor(task[1])
    lr_t = {n: torch.tensor(float((lr_map or lrs)[n]), dtype=torch.float64) for n in lrs}
    adapted, accs, margins = adapt(to_torch(params, requires_grad=True), lr_t, sx, sy, steps, second_order=False)
    return {n: v.detach().numpy() for n, v in adapted.items()}, accs, margins


def _call_inner_loop(student, params, lrs, task, steps, create_graph, what):
    result = student.call("inner_loop", _send_params(params, True), tensor(task[0]), tensor(task[1]),
                          _send_lrs(student, lrs), steps, create_graph)
    check(isinstance(result, tuple) and len(result) == 2,
          f"{what} should return (adapted_params, accuracies); got {type(result).__name__}")
    return _adapted_dict(result[0], params, what), result[1]


def _check_accuracies(accs, expected: list, margins: list, what: str) -> None:
    got = as_array(accs, what, shape=(len(expected),))
    robust = [i for i, m in enumerate(margins) if m > 1e-4]
    close(got[robust], np.asarray(expected)[robust], atol=1e-6,
          what=f"{what} (support accuracy before each step and after the last)")


@graded(points=3, timeout=30)
def test_inner_loop_one_step_is_sgd(student):
    """one inner step is one SGD step with each parameter's own learning rate"""
    params, lrs = grader_params(WAYS, HIDDEN, seed=1), grader_lrs(seed=2)
    task = random_task(WAYS, 2, 3, seed=3)
    adapted, accs = _call_inner_loop(student, params, lrs, task, 1, False, "inner_loop(..., num_steps=1)")
    expected, expected_accs, margins = _reference_adapt(params, lrs, task, 1)
    if relative_gap(adapted, expected) > 1e-3:
        ascent = {n: 2 * params[n] - expected[n] for n in params}          # theta + lr * grad
        if relative_gap(adapted, ascent) < 1e-3:
            fail("inner_loop moves the parameters *up* the gradient (theta + lr * grad): gradient descent "
                 "subtracts it")
        if relative_gap(adapted, params) < 1e-6:
            fail("inner_loop returned the parameters unchanged after one step")
        name = worst_entry(adapted, expected)
        fail(f"inner_loop: one inner step is not theta - inner_lrs[name] * grad: the adapted '{name}' differs most "
             f"(relative error {relative_gap(adapted, expected):.3g}). Every parameter tensor has its own "
             f"learning rate in inner_lrs (the grader gave them all different values), and the loss is "
             f"the mean cross-entropy of conv4_forward(params, support_x).")
    _check_accuracies(accs, expected_accs, margins, "inner_loop's accuracies after one step")


@graded(points=2, timeout=30)
def test_inner_loop_several_steps(student):
    """three inner steps are three SGD steps, each on the current adapted parameters"""
    params, lrs = grader_params(WAYS, HIDDEN, seed=11), grader_lrs(seed=12, high=0.3)
    task = random_task(WAYS, 2, 3, seed=13)
    adapted, accs = _call_inner_loop(student, params, lrs, task, 3, False, "inner_loop(..., num_steps=3)")
    expected, expected_accs, margins = _reference_adapt(params, lrs, task, 3)
    gap = relative_gap(adapted, expected)
    if gap > 1e-3:
        one, _, _ = _reference_adapt(params, lrs, task, 1)
        if relative_gap(adapted, one) < 1e-3:
            fail("inner_loop with num_steps=3 took only one step")
        fail(f"inner_loop: three inner steps do not match three SGD steps (relative error {gap:.3g}; '{worst_entry(adapted, expected)}' "
             f"differs most): each step's gradient must be taken at the parameters of the previous step")
    _check_accuracies(accs, expected_accs, margins, "inner_loop's accuracies after three steps")


def _query_gradients(student, params: dict, lrs: dict, task: tuple, create_graph: bool) -> dict:
    """The gradient, with respect to params, of the query loss at the student's adapted parameters:
    composed in the worker from the student's inner_loop and library calls only."""
    params_ref = student.call("builtins:dict", _send_params(params, True), keep=True)
    out = student.call("inner_loop", params_ref, tensor(task[0]), tensor(task[1]), _send_lrs(student, lrs), 1, create_graph,
                       keep=True)
    adapted = student.call("operator:getitem", out, 0, keep=True)
    logits = student.call("metakit.fewshot:conv4_forward", adapted, tensor(task[2]), keep=True)
    loss = student.call("torch.nn.functional:cross_entropy", logits, tensor(task[3]), keep=True)
    check(student.attr(loss, "requires_grad") is True,
          "the adapted parameters returned by inner_loop do not depend on params through autograd (did you "
          "detach them, use .data, or rebuild them with torch.tensor?)")
    inputs = student.call("builtins:list", student.method(params_ref, "values", keep=True), keep=True)
    grads = student.call("torch.autograd:grad", loss, inputs, allow_unused=True)
    return {name: (np.zeros_like(params[name], dtype=np.float64) if g is None else as_array(g, f"gradient of {name}"))
            for name, g in zip(params, grads)}


def _references(params, lrs, tasks, steps=1, learn_lrs=False):
    second = meta_reference(params, lrs, tasks, steps, second_order=True, learn_lrs=learn_lrs)
    first = meta_reference(params, lrs, tasks, steps, second_order=False, learn_lrs=learn_lrs)
    assert relative_gap(first["grads"], second["grads"]) > APART, "grader: first and second order too close"
    return first, second


@graded(points=2, timeout=30)
def test_inner_loop_create_graph_gives_second_order(student):
    """with create_graph=True the query loss of the adapted parameters has the second-order gradient"""
    params, lrs = grader_params(WAYS, HIDDEN, seed=21), grader_lrs(seed=22)
    task = random_task(WAYS, 2, 3, seed=23)
    first, second = _references(params, lrs, [task])
    got = _query_gradients(student, params, lrs, task, create_graph=True)
    gap = relative_gap(got, second["grads"])
    if gap > GRAD_TOL:
        if relative_gap(got, first["grads"]) < GRAD_TOL:
            fail("with create_graph=True the gradient through inner_loop is the *first-order* one: pass "
                 "create_graph=create_graph to torch.autograd.grad so the inner gradient can be differentiated")
        fail(f"the gradient of the query loss through inner_loop(create_graph=True) differs from the grader's "
             f"second-order MAML gradient (relative error {gap:.3g}; '{worst_entry(got, second['grads'])}' differs most)")


@graded(points=1, timeout=30)
def test_inner_loop_without_create_graph_gives_first_order(student):
    """with create_graph=False the gradient through the inner loop is the first-order one"""
    params, lrs = grader_params(WAYS, HIDDEN, seed=31), grader_lrs(seed=32)
    task = random_task(WAYS, 2, 3, seed=33)
    first, second = _references(params, lrs, [task])
    got = _query_gradients(student, params, lrs, task, create_graph=False)
    gap = relative_gap(got, first["grads"])
    if gap > GRAD_TOL:
        if relative_gap(got, second["grads"]) < GRAD_TOL:
            fail("with create_graph=False the gradient through inner_loop is still second order: the "
                 "inner gradient must be computed with create_graph=create_graph")
        fail(f"with create_graph=False, the gradient of the query loss through inner_loop should be the "
             f"query gradient at the adapted parameters (first-order MAML); relative error {gap:.3g}")


# ----------------------------------------------------------------------------------------- outer_step
def _maml(student, *, learn: bool = False, first_order: bool = False, outer_lr: float = 1.0, steps: int = 1,
          seed: int = 0):
    maml = student.call("MAML", num_ways=WAYS, num_inner_steps=steps, inner_lr=0.1, learn_inner_lrs=learn,
                        outer_lr=outer_lr, first_order=first_order, hidden=HIDDEN, outer_optimizer="sgd", seed=0,
                        keep=True)
    params, lrs = grader_params(WAYS, HIDDEN, seed=seed), grader_lrs(seed=seed + 1, high=0.5)
    student.call("metakit.grading.harness:load_tensors", student.attr(maml, "params", keep=True), params)
    student.call("metakit.grading.harness:load_tensors", student.attr(maml, "inner_lrs", keep=True), dict(lrs))
    return maml, params, lrs


def _tasks(seed: int, count: int = 2) -> list[tuple]:
    return [random_task(WAYS, 2, 3, seed=seed + i) for i in range(count)]


def _outer_step(student, maml, tasks, train: bool | None):
    """``maml.outer_step(tasks, train)``; ``train=None`` leaves it at its documented default (True)."""
    sent = [send_task(t) for t in tasks]
    result = student.method(maml, "outer_step", sent) if train is None else student.method(maml, "outer_step", sent, train)
    check(isinstance(result, tuple) and len(result) == 3,
          f"outer_step should return (meta_loss, support_accuracies, query_accuracy); got {type(result).__name__}")
    return result


def _default_outer_step(student, maml, tasks, params: dict) -> dict:
    """``maml.outer_step(tasks)`` with ``train`` left at its documented default (True), which must
    update the parameters; their values afterwards."""
    _outer_step(student, maml, tasks, None)
    middle, _ = _state(student, maml, params)
    check(any(not np.array_equal(middle[n], params[n]) for n in params),
          "MAML.outer_step(task_batch), with train left at its default, did not update self.params: the "
          "docstring's default is train=True (a meta-training step)")
    return middle


def _state(student, maml, params: dict) -> tuple[dict, dict]:
    values = student.attr(maml, "params")
    check(isinstance(values, dict), "MAML.params should stay a dict of tensors")
    lrs = student.attr(maml, "inner_lrs")
    return _adapted_dict(values, params, "MAML.params after outer_step"), lrs


def _applied_gradient(before: dict, after: dict, lr: float) -> dict:
    return {n: (np.asarray(before[n], np.float64) - np.asarray(after[n], np.float64)) / lr for n in before}


def _check_meta_gradient(got: dict, expected: dict, other: dict, mode: str, other_mode: str, hint: str,
                         query_only: dict, support_loss: dict) -> None:
    gap = relative_gap(got, expected)
    if gap <= GRAD_TOL:
        return
    if relative_gap(got, {n: 0 * v for n, v in expected.items()}) < 1e-9:
        fail("outer_step(train=True) did not change the meta-parameters: call self.optimizer.zero_grad(), "
             "meta_loss.backward() and self.optimizer.step()")
    if relative_gap(got, other) < GRAD_TOL:
        fail(f"outer_step's meta-gradient is the {other_mode} one, but this MAML is {mode}: {hint}")
    if relative_gap(got, query_only) < GRAD_TOL:
        fail("outer_step's meta-gradient is the gradient of the query loss at the *unadapted* parameters: "
             "the query loss must use the adapted parameters returned by inner_loop")
    if relative_gap(got, support_loss) < 5 * GRAD_TOL:
        fail("outer_step's meta-gradient is that of the loss on the *support* set after adaptation: the "
             "meta-loss is the query loss")
    fail(f"outer_step's meta-gradient differs from the grader's {mode} MAML gradient (relative error {gap:.3g}; "
         f"'{worst_entry(got, expected)}' differs most). The meta-loss is the mean over tasks of the query "
         f"cross-entropy at the adapted parameters.")


def _wrong_gradients(params, lrs, tasks):
    """Gradients of two common mistakes: query loss at theta; support loss after adaptation."""
    query_at_theta = meta_reference(params, {n: 0.0 for n in lrs}, tasks, 1, second_order=True, learn_lrs=False)
    swapped = [(sx, sy, sx, sy) for sx, sy, _, _ in tasks]
    support_after = meta_reference(params, lrs, swapped, 1, second_order=True, learn_lrs=False)
    return query_at_theta["grads"], support_after["grads"]


@graded(points=3, timeout=40)
def test_outer_step_second_order_meta_gradient(student):
    """outer_step(train=True) applies the second-order meta-gradient"""
    maml, params, lrs = _maml(student, seed=40)
    tasks = _tasks(seed=41)
    first, second = _references(params, lrs, tasks)
    loss, _, _ = _outer_step(student, maml, tasks, True)
    close(as_array(loss, "outer_step's meta_loss").reshape(()), second["loss"], atol=1e-4, rtol=1e-4,
          what="outer_step(train=True)'s meta-loss (the loss of this step, before the update)")
    after, _ = _state(student, maml, params)
    _check_meta_gradient(_applied_gradient(params, after, 1.0), second["grads"], first["grads"], "second-order",
                         "first-order", "with first_order=False the inner gradients need create_graph=True "
                         "during training", *_wrong_gradients(params, lrs, tasks))


@graded(points=2, timeout=40)
def test_outer_step_first_order_meta_gradient(student):
    """outer_step with first_order=True applies the first-order meta-gradient"""
    maml, params, lrs = _maml(student, first_order=True, seed=50)
    tasks = _tasks(seed=51)
    first, second = _references(params, lrs, tasks)
    _outer_step(student, maml, tasks, True)
    after, _ = _state(student, maml, params)
    _check_meta_gradient(_applied_gradient(params, after, 1.0), first["grads"], second["grads"], "first-order",
                         "second-order", "with first_order=True the inner gradients are computed with "
                         "create_graph=False", *_wrong_gradients(params, lrs, tasks))


@graded(points=2, timeout=40)
def test_learned_inner_lrs_receive_gradients(student):
    """with learn_inner_lrs=True the inner learning rates move by their meta-gradient"""
    maml, params, lrs = _maml(student, learn=True, outer_lr=0.5, seed=60)
    tasks = _tasks(seed=61)
    expected = meta_reference(params, lrs, tasks, 1, second_order=True, learn_lrs=True)
    _outer_step(student, maml, tasks, True)
    after, after_lrs = _state(student, maml, params)
    check(isinstance(after_lrs, dict) and set(after_lrs) == set(lrs), "MAML.inner_lrs should stay a dict name -> "
                                                                      "scalar tensor")
    got = {n: (float(lrs[n]) - _scalar(after_lrs[n], f"inner_lrs['{n}']")) / 0.5 for n in PARAM_ORDER}
    want = expected["lr_grads"]
    if max(abs(v) for v in got.values()) < 1e-9:
        fail("MAML.outer_step: the inner learning rates did not change: the meta-loss must depend on them, so they must enter "
             "the adapted parameters as tensors (theta - inner_lrs[name] * grad, no float() or .item()) and the "
             "query loss must use the adapted parameters; the optimizer then updates them")
    close(np.array([got[n] for n in PARAM_ORDER]), np.array([want[n] for n in PARAM_ORDER]), atol=2e-4, rtol=5e-3,
          what="the meta-gradient of the inner learning rates (in the order " + ", ".join(PARAM_ORDER[:3]) + ", ...)")
    _check_meta_gradient(_applied_gradient(params, after, 0.5), expected["grads"], expected["grads"], "second-order",
                         "second-order", "", *_wrong_gradients(params, lrs, tasks))


@graded(points=1, timeout=30)
def test_outer_step_eval_leaves_parameters_unchanged(student):
    """outer_step(train=False) changes neither the parameters nor the inner learning rates"""
    maml, params, lrs = _maml(student, learn=True, seed=70)
    tasks = _tasks(seed=71)
    loss, support_accs, query_acc = _outer_step(student, maml, tasks, False)
    # the property counts only when outer_step also did its job
    expected = meta_reference(params, lrs, tasks, 1, second_order=False, learn_lrs=False)
    close(as_array(loss, "outer_step's meta_loss").reshape(()), expected["loss"], atol=1e-4, rtol=1e-4,
          what="outer_step(train=False)'s meta-loss (query cross-entropy at the adapted parameters, mean over tasks)")
    close(as_array(query_acc, "outer_step's query accuracy").reshape(()), expected["query_acc"], atol=1e-6,
          what="outer_step(train=False)'s query accuracy")
    after, after_lrs = _state(student, maml, params)
    close(np.concatenate([after[n].ravel() for n in PARAM_ORDER]),
          np.concatenate([params[n].ravel().astype(np.float64) for n in PARAM_ORDER]), atol=0, rtol=0,
          what="MAML.params after outer_step(train=False) (they must not change)")
    close(np.array([_scalar(after_lrs[n], f"inner_lrs['{n}']") for n in PARAM_ORDER]),
          np.array([float(lrs[n]) for n in PARAM_ORDER]), atol=0, rtol=0,
          what="MAML.inner_lrs after outer_step(train=False) (they must not change)")
    for kind in ("params", "inner_lrs"):
        grads = _grads_of(student, student.attr(maml, kind, keep=True), PARAM_ORDER)
        with_grad = [n for n, g in grads.items() if g is not None]
        check(not with_grad, f"outer_step(train=False) left gradients on MAML.{kind} {with_grad[:3]}: evaluation "
                             f"must not backpropagate")


@graded(points=2, timeout=30)
def test_outer_step_returns_loss_and_accuracies(student):
    """outer_step returns the meta-loss, the support accuracies per inner step and the query accuracy"""
    maml, params, lrs = _maml(student, steps=2, seed=80)
    tasks = _tasks(seed=81, count=3)
    expected = meta_reference(params, lrs, tasks, 2, second_order=False, learn_lrs=False)
    loss, support_accs, query_acc = _outer_step(student, maml, tasks, False)
    close(as_array(loss, "outer_step's meta_loss").reshape(()), expected["loss"], atol=1e-4, rtol=1e-4,
          what="outer_step's meta-loss (mean over tasks of the query cross-entropy at the adapted parameters)")
    close(as_array(support_accs, "outer_step's support accuracies", shape=(3,)), expected["support_accs"], atol=1e-6,
          what="outer_step's support accuracies (2 inner steps: before each step and after the last, mean over tasks)")
    close(as_array(query_acc, "outer_step's query accuracy").reshape(()), expected["query_acc"], atol=1e-6,
          what="outer_step's query accuracy (mean over tasks)")


@graded(points=2, timeout=40)
def test_outer_step_zeroes_gradients(student):
    """two outer steps in a row: the second applies only its own meta-gradient"""
    maml, params, lrs = _maml(student, outer_lr=0.5, seed=90)
    first_batch, second_batch = _tasks(seed=91), _tasks(seed=93)
    middle = _default_outer_step(student, maml, first_batch, params)
    _outer_step(student, maml, second_batch, True)
    after, _ = _state(student, maml, params)
    middle32 = {n: middle[n].astype(np.float32) for n in middle}
    expected = meta_reference(middle32, lrs, second_batch, 1, second_order=True, learn_lrs=False)["grads"]
    got = _applied_gradient(middle, after, 0.5)
    gap = relative_gap(got, expected)
    if gap > GRAD_TOL:
        previous = _applied_gradient(params, middle, 0.5)
        summed = {n: expected[n] + previous[n] for n in expected}
        if relative_gap(got, summed) < 1e-2:
            fail("MAML.outer_step: the second outer step applied the sum of both steps' meta-gradients: gradients accumulate "
                 "in .grad, so call self.optimizer.zero_grad() before meta_loss.backward()")
        fail(f"MAML.outer_step: the second of two outer steps does not apply its own meta-gradient (relative error {gap:.3g})")


# ----------------------------------------------------------------------------------------- states, sweeps, Adam
def _grads_of(student, dict_ref, names) -> dict:
    """The ``.grad`` of every tensor of a dict kept in the worker (None where there is none)."""
    out = {}
    for name in names:
        entry = student.call("operator:getitem", dict_ref, name, keep=True)
        out[name] = student.attr(entry, "grad")
    return out


@graded(points=1, timeout=30)
def test_inner_loop_leaves_params_untouched(student):
    """inner_loop never modifies params: same dict entries, same values, no gradients left on them"""
    params, lrs = grader_params(WAYS, HIDDEN, seed=101), grader_lrs(seed=102)
    task = random_task(WAYS, 2, 3, seed=103)
    params_ref = student.call("builtins:dict", _send_params(params, True), keep=True)
    out = student.call("inner_loop", params_ref, tensor(task[0]), tensor(task[1]), _send_lrs(student, lrs), 2, True,
                       keep=True)
    adapted = _adapted_dict(student.call("operator:getitem", out, 0), params, "inner_loop(..., num_steps=2)")
    expected, _, _ = _reference_adapt(params, lrs, task, 2)
    check(relative_gap(adapted, expected) < 1e-3,
          f"inner_loop(..., num_steps=2) does not return the adapted parameters (relative error "
          f"{relative_gap(adapted, expected):.3g})")
    after = student.call("builtins:dict", params_ref)
    check(isinstance(after, dict) and set(after) == set(params),
          "inner_loop changed the keys of the params dict it was given: build a new dict")
    changed = [n for n in params if not np.array_equal(as_array(after[n], f"params['{n}']"), params[n].astype(np.float64))]
    check(not changed, f"inner_loop modified params (theta) in place: {changed[:3]} changed (build a new dict of "
                       f"new tensors at every step: no -=, no .data, no params[name] = ...)")
    leaves = [n for n in params if student.attr(student.call("operator:getitem", params_ref, n, keep=True), "is_leaf")
              is not True]
    check(not leaves, f"after inner_loop, params{leaves[:2]} are no longer the tensors passed in (the dict was "
                      f"overwritten with adapted tensors)")
    grads = _grads_of(student, params_ref, list(params))
    with_grad = [n for n, g in grads.items() if g is not None]
    check(not with_grad, f"inner_loop left gradients on params {with_grad[:3]}: compute the inner gradients with "
                         f"torch.autograd.grad, not loss.backward()")


@graded(points=2, timeout=40)
def test_inner_loop_random_sweep(student):
    """inner_loop for random tasks, step counts (1 to 4) and rates, in float32 and float64; floats returned"""
    rng = np.random.default_rng(110)
    for number in range(4):
        steps = [1, 4, 2, 3][number]
        ways, shots = int(rng.integers(2, 5)), int(rng.integers(1, 4))
        dtype = np.float64 if number % 2 else np.float32
        params = {n: v.astype(dtype) for n, v in grader_params(ways, HIDDEN, seed=111 + number).items()}
        lrs = grader_lrs(seed=121 + number, low=0.01, high=0.25)
        task = random_task(ways, shots, 2, seed=131 + number)
        task = (task[0].astype(dtype), task[1], task[2].astype(dtype), task[3])
        what = f"inner_loop({ways}-way {shots}-shot, {np.dtype(dtype).name} params, num_steps={steps})"
        result = student.call("inner_loop", _send_params(params, True), tensor(task[0]), tensor(task[1]),
                              _send_lrs(student, lrs), steps, False)
        check(isinstance(result, tuple) and len(result) == 2, f"{what} should return (adapted_params, accuracies)")
        adapted = _adapted_dict(result[0], params, what)
        wrong_dtype = [n for n in params if result[0][n].dtype != dtype]
        check(not wrong_dtype, f"{what}: adapted{wrong_dtype[:2]} is {result[0][wrong_dtype[0]].dtype if wrong_dtype else ''}, "
                               f"not the dtype of params ({np.dtype(dtype).name})")
        expected, expected_accs, margins = _reference_adapt(params, lrs, task, steps)
        gap = relative_gap(adapted, expected)
        check(gap < 1e-3, f"{what}: the adapted parameters differ from {steps} SGD steps (relative error {gap:.3g}; "
                          f"'{worst_entry(adapted, expected)}' differs most)")
        accs = result[1]
        check(isinstance(accs, (list, tuple)) and len(accs) == steps + 1,
              f"{what}: accuracies should be a list of num_steps + 1 = {steps + 1} floats; got "
              f"{type(accs).__name__}{' of length ' + str(len(accs)) if isinstance(accs, (list, tuple)) else ''}")
        check(all(isinstance(a, float) for a in accs),
              f"{what}: every accuracy should be a Python float (the accuracy helper returns one); got "
              f"{[type(a).__name__ for a in accs]}")
        _check_accuracies(accs, expected_accs, margins, f"{what}: accuracies")


def _adam_reference(grads: list[dict], lr: float) -> dict:
    """The total change of two Adam steps (PyTorch's defaults) with these gradients, per entry."""
    m = {n: 0.0 for n in grads[0]}
    v = {n: 0.0 for n in grads[0]}
    total = {n: 0.0 for n in grads[0]}
    for t, g in enumerate(grads, start=1):
        for n in g:
            m[n] = 0.9 * m[n] + 0.1 * g[n]
            v[n] = 0.999 * v[n] + 0.001 * g[n] ** 2
            total[n] = total[n] - lr * (m[n] / (1 - 0.9 ** t)) / (np.sqrt(v[n] / (1 - 0.999 ** t)) + 1e-8)
    return total


@graded(points=2, timeout=40)
def test_outer_step_uses_the_optimizer(student):
    """outer_step updates with self.optimizer (Adam by default, its state kept across calls)"""
    lr = 1e-3
    maml = student.call("MAML", num_ways=WAYS, num_inner_steps=1, inner_lr=0.1, outer_lr=lr, hidden=HIDDEN, seed=0,
                        keep=True)
    params, lrs = grader_params(WAYS, HIDDEN, seed=140), grader_lrs(seed=141, high=0.5)
    student.call("metakit.grading.harness:load_tensors", student.attr(maml, "params", keep=True), params)
    student.call("metakit.grading.harness:load_tensors", student.attr(maml, "inner_lrs", keep=True), dict(lrs))
    first_batch, second_batch = _tasks(seed=142), _tasks(seed=144)
    middle = _default_outer_step(student, maml, first_batch, params)
    _outer_step(student, maml, second_batch, True)
    after, _ = _state(student, maml, params)
    g1 = meta_reference(params, lrs, first_batch, 1, second_order=True, learn_lrs=False)["grads"]
    middle32 = {n: middle[n].astype(np.float32) for n in middle}
    g2 = meta_reference(middle32, lrs, second_batch, 1, second_order=True, learn_lrs=False)["grads"]
    one = _adam_reference([g1], lr)
    # entries whose gradient is far from zero, where float32 rounding cannot flip Adam's direction
    mask = {n: (np.abs(g1[n]) > 1e-2 * np.abs(g1[n]).max()) & (np.abs(g2[n]) > 1e-2 * np.abs(g2[n]).max())
            for n in g1}
    step1 = np.concatenate([(middle[n] - params[n])[mask[n]] for n in params])
    want1 = np.concatenate([one[n][mask[n]] for n in params])
    if not np.allclose(step1, want1, atol=2e-5, rtol=2e-2):
        sgd = np.concatenate([(-lr * g1[n])[mask[n]] for n in params])
        if np.allclose(step1, sgd, atol=2e-6, rtol=2e-2):
            fail("outer_step's first update is a plain SGD step (theta - outer_lr * grad), but this MAML's "
                 "optimizer is Adam (the default): update with self.optimizer.step()")
        fail("outer_step's first update is not one step of self.optimizer (Adam, learning rate "
             f"{lr:g}) on the meta-gradient: call self.optimizer.zero_grad(), meta_loss.backward(), "
             "self.optimizer.step()")
    two = _adam_reference([g1, g2], lr)
    step2 = np.concatenate([(after[n] - middle[n])[mask[n]] for n in params])
    want2 = np.concatenate([(two[n] - one[n])[mask[n]] for n in params])
    if not np.allclose(step2, want2, atol=2e-5, rtol=5e-2):
        fresh = np.concatenate([(-lr * np.sign(g2[n]))[mask[n]] for n in params])
        if np.allclose(step2, fresh, atol=2e-5, rtol=2e-2):
            fail("outer_step's second update is the first step of a *fresh* Adam: the optimizer's state (its "
                 "moment estimates) was lost between calls; use self.optimizer, do not rebuild it")
        fail("outer_step's second update is not the second Adam step of self.optimizer on the new meta-gradient")


@graded(points=1, timeout=40)
def test_first_order_learned_inner_lrs(student):
    """first_order=True with learned inner rates: the rates still get their (first-order) meta-gradient"""
    maml, params, lrs = _maml(student, learn=True, first_order=True, outer_lr=0.5, seed=150)
    tasks = _tasks(seed=151)
    expected = meta_reference(params, lrs, tasks, 1, second_order=False, learn_lrs=True)
    _outer_step(student, maml, tasks, True)
    after, after_lrs = _state(student, maml, params)
    check(isinstance(after_lrs, dict) and set(after_lrs) == set(lrs), "MAML.inner_lrs should stay a dict name -> "
                                                                      "scalar tensor")
    got = {n: (float(lrs[n]) - _scalar(after_lrs[n], f"inner_lrs['{n}']")) / 0.5 for n in PARAM_ORDER}
    if max(abs(v) for v in got.values()) < 1e-9:
        fail("MAML.outer_step: with first_order=True the inner learning rates did not change: first-order MAML treats the inner "
             "*gradients* as constants, but phi = theta - inner_lrs[name] * grad still depends on the rates, so "
             "they get a meta-gradient (do not detach the whole update)")
    close(np.array([got[n] for n in PARAM_ORDER]), np.array([expected["lr_grads"][n] for n in PARAM_ORDER]),
          atol=2e-4, rtol=5e-3, what="the first-order meta-gradient of the inner learning rates")
    gap = relative_gap(_applied_gradient(params, after, 0.5), expected["grads"])
    check(gap < GRAD_TOL, f"MAML.outer_step: with first_order=True and learned rates, the meta-gradient of the parameters differs "
                          f"from the first-order one (relative error {gap:.3g})")
