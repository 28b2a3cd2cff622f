"""Hidden graders of hw0: TaskConditionedNet, checked by behaviour (outputs and gradient supports).

Nothing relies on the student's names: layers are recognised by their shapes, the network's function
is compared with the docstring's formula computed here from grader-chosen parameter values, and which
task touches which parameter is read from gradients (a backward in the worker's harness).
"""
import numpy as np

from conftest import (HARNESS, HIDDEN, MODES, NUM_OUTPUTS, NUM_TASKS, build_model, designed_values,
                      documented_forward, gradient_supports, one_hot, outputs, own_parameters, parameter_count,
                      parameter_shapes, raised, random_images, require_responsive, shared_count, shared_names,
                      sharing)
from metakit.grading import check, close, fail, graded, partial_credit, tensor

# sizes that no two layers share, so that shapes say which layer is which
ARCH_TASKS, ARCH_OUTPUTS, ARCH_HIDDEN = 3, 5, 6


def sizes(shapes: dict) -> int:
    return int(sum(np.prod(s) for s in shapes.values()))


@graded(points=1, timeout=40)
def test_model_modes_and_shapes(student):
    """every conditioning builds a network that maps x [B, 1, 28, 28] and z [B, T] to [B, O]; unknown ones raise"""
    x = random_images(5, seed=1)
    z = one_hot([0, 1, 2, 0, 1])
    check(student.call("builtins:issubclass", student.ref("TaskConditionedNet"),
                       student.ref("metakit.multitask:MultiTaskNet")) is True,
          "TaskConditionedNet should be a subclass of the kit's MultiTaskNet")
    for mode in MODES:
        model = build_model(student, mode)
        outputs(student, model, x, z, mode)
        require_responsive(student, model, mode)
    wide = build_model(student, "concat", num_outputs=7)
    outputs(student, wide, x, z, "concat", num_outputs=7)
    single = build_model(student, "concat", num_tasks=1, num_outputs=1)
    outputs(student, single, x, one_hot([0] * 5, 1), "concat", num_outputs=1)
    ok, text = raised(student, "TaskConditionedNet", num_tasks=3, num_outputs=4, conditioning="telepathic", hidden=8)
    check(ok, 'TaskConditionedNet(conditioning="telepathic") should raise ValueError; '
              + (text.splitlines()[0] if text else "it returned without raising"))
    missing = [m for m in MODES if m not in text]
    check(not missing, f"the ValueError for an unknown conditioning should name the five conditionings; it does not "
                       f"name {missing}")


@graded(points=1, timeout=40)
def test_model_sizes_and_defaults(student):
    """the layers have the documented sizes (hidden, num_tasks, num_outputs) and the defaults are concat, hidden=64"""
    t, o = ARCH_TASKS, ARCH_OUTPUTS
    for mode in MODES:
        for hidden in (ARCH_HIDDEN, 9):
            model = student.call("TaskConditionedNet", t, o, mode, hidden, keep=True)
            got, expected = sizes(parameter_shapes(student, model, mode)), parameter_count(mode, t, o, hidden)
            check(got == expected,
                  f'TaskConditionedNet({t}, {o}, "{mode}", hidden={hidden}) has {got} parameter entries; the documented '
                  f'network (784 -> hidden -> hidden -> {o}, z read as the table says) has {expected}')
    default = student.call("TaskConditionedNet", t, o, keep=True)
    got = sizes(parameter_shapes(student, default))
    check(got == parameter_count("concat", t, o, 64),
          f"TaskConditionedNet({t}, {o}) with the default conditioning and hidden has {got} parameter entries; the "
          f'defaults conditioning="concat", hidden=64 give {parameter_count("concat", t, o, 64)}')
    listed = student.method(default, "shared_parameters")
    check(isinstance(listed, (list, tuple)),
          f"TaskConditionedNet({t}, {o}).shared_parameters() should return a list of parameters; it returned "
          f"{type(listed).__name__}")
    shared = sum(int(np.prod(np.shape(p))) for p in listed)
    check(shared == shared_count("concat", t, o, 64),
          f"TaskConditionedNet({t}, {o}) should be the concat network (the default): its shared_parameters() hold "
          f'{shared} entries, the concat network shares {shared_count("concat", t, o, 64)}')


@graded(points=5, timeout=60)
def test_model_matches_documented_architecture(student):
    """each conditioning computes the docstring's network: where z enters, where the ReLUs sit, the gate and heads"""
    t, o, h = ARCH_TASKS, ARCH_OUTPUTS, ARCH_HIDDEN
    x = random_images(7, seed=41)
    z = np.zeros((7, t), np.float32)
    z[[0, 1, 2, 3], [0, 1, 2, 0]] = 1.0                  # one-hot rows of different tasks
    z[5] = [0.6, -0.7, 1.3]                               # the formulas hold for any z
    z[6] = [0.0, 0.5, 0.5]                                # row 4 stays z = 0
    failures = []
    for number, mode in enumerate(MODES):
        student.call(f"{HARNESS}:set_seed", number)
        model = student.call("TaskConditionedNet", num_tasks=t, num_outputs=o, conditioning=mode, hidden=h, keep=True)
        try:
            values, layers = designed_values(parameter_shapes(student, model, mode), mode, t, o, h, seed=50 + number)
        except Exception as exc:  # noqa: BLE001 - a failure message, reported per mode
            failures.append(str(exc))
            continue
        student.call(f"{HARNESS}:load_arrays", model, values)
        got = outputs(student, model, x, z, mode, num_outputs=o)
        expected = documented_forward(mode, layers, x, z)
        if not np.allclose(got, expected, atol=1e-4, rtol=1e-4):
            rows = sorted({int(r) for r in np.nonzero(~np.isclose(got, expected, atol=1e-4, rtol=1e-4))[0]})
            failures.append(f'TaskConditionedNet(..., conditioning="{mode}").forward: with parameters set by the '
                            f"grader, the outputs differ from the docstring's network on rows {rows} of the batch (largest difference "
                            f"{np.abs(got - expected).max():.3g}; rows 0-3 have one-hot z, row 4 z = 0, rows 5-6 mixed "
                            f"z); check where z enters, where the ReLUs sit and which layers are per task")
    if failures:
        passed = len(MODES) - len(failures)
        if passed == 0:
            fail("; ".join(failures))
        partial_credit(passed / len(MODES), "; ".join(failures))


@graded(points=2, timeout=40)
def test_independent_shares_nothing(student):
    """"independent": the output for task i has zero gradient on every other task's parameters"""
    model = build_model(student, "independent")
    supports = gradient_supports(student, model, seed=2)
    groups = sharing(supports)
    touched = groups["shared"] | groups["mixed"]
    check(not touched, 'with conditioning="independent" no parameter may receive gradient from two tasks, but '
                       f'{sorted(touched)} get gradient from more than one task: each task needs its own network')
    for task in range(NUM_TASKS):
        check(own_parameters(supports, task, set()), f'with conditioning="independent" the output of task {task} '
                                                     f'depends on no parameter at all')
    names = shared_names(student, model, "independent")
    check(names == [], f'independent networks share nothing, so shared_parameters() should be empty; it returned {names}')


@graded(points=1, timeout=30)
def test_independent_gate(student):
    """"independent": the output is the gate sum_t z_t f_t(x) (zero when z = 0, linear in z)"""
    model = build_model(student, "independent", seed=3)
    require_responsive(student, model, "independent")
    x = random_images(4, seed=3)
    zero = outputs(student, model, x, np.zeros((4, NUM_TASKS), np.float32), "independent")
    close(zero, np.zeros_like(zero), atol=1e-6,
          what='the output of conditioning="independent" for z = 0 (the gate sum_t z_t f_t(x) is 0)')
    out0 = outputs(student, model, x, one_hot([0] * 4), "independent")
    out1 = outputs(student, model, x, one_hot([1] * 4), "independent")
    mix = np.zeros((4, NUM_TASKS), np.float32)
    mix[:, 0], mix[:, 1] = 0.25, 0.75
    close(outputs(student, model, x, mix, "independent"), 0.25 * out0 + 0.75 * out1, atol=1e-5,
          what='the output of conditioning="independent" for z = 0.25 e_0 + 0.75 e_1 (should be '
               '0.25 f_0(x) + 0.75 f_1(x))')


@graded(points=2, timeout=40)
def test_multihead_trunk_shared_heads_not(student):
    """"multihead": the trunk gets gradient from every task, each head from its own task only"""
    model = build_model(student, "multihead", seed=4)
    supports = gradient_supports(student, model, seed=4)
    groups = sharing(supports)
    check(groups["shared"], 'with conditioning="multihead" no parameter receives gradient from every task: '
                            'the trunk (first and second layers) should be shared')
    check(not groups["mixed"], f'with conditioning="multihead" the parameters {sorted(groups["mixed"])} are shared '
                               f'by some pairs of tasks but not others')
    for task in range(NUM_TASKS):
        check(own_parameters(supports, task, groups["shared"]),
              f'with conditioning="multihead" task {task} has no parameters of its own: every task needs its own '
              f'head (the heads must not be shared)')
    names = set(shared_names(student, model, "multihead"))
    check(names == groups["shared"],
          f'shared_parameters() of conditioning="multihead" should be exactly the trunk, the parameters that get '
          f'gradient from every task: {sorted(groups["shared"])}; it returned {sorted(names)}')


@graded(points=2, timeout=50)
def test_shared_parameters_match_gradients(student):
    """"concat", "additive", "multiplicative": shared_parameters() is what the tasks' gradients share"""
    for mode in ("concat", "additive", "multiplicative"):
        model = build_model(student, mode, seed=5)
        supports = gradient_supports(student, model, seed=5)
        groups = sharing(supports)
        check(not groups["mixed"], f'with conditioning="{mode}" the parameters {sorted(groups["mixed"])} are '
                                   f'shared by some pairs of tasks but not others')
        entries = {name: mask.size for name, mask in supports[0].items()}
        shared_size = sum(entries[n] for n in groups["shared"])
        check(shared_size >= 0.5 * sum(entries.values()),
              f'with conditioning="{mode}" only {shared_size} of {sum(entries.values())} parameter entries get '
              f'gradient from every task: all but the task embedding should be shared')
        names = set(shared_names(student, model, mode))
        check(names == groups["shared"],
              f'shared_parameters() of conditioning="{mode}" should be the parameters whose entries get gradient '
              f'from more than one task, {sorted(groups["shared"])}; it returned {sorted(names)}')


@graded(points=2, timeout=40)
def test_output_depends_on_task(student):
    """every conditioning: changing the task descriptor z changes the output"""
    x = random_images(6, seed=6)
    for mode in MODES:
        model = build_model(student, mode, seed=6)
        results = [outputs(student, model, x, one_hot([t] * 6), mode) for t in range(NUM_TASKS)]
        for a in range(NUM_TASKS):
            for b in range(a + 1, NUM_TASKS):
                gap = float(np.abs(results[a] - results[b]).max())
                check(gap > 1e-6, f'with conditioning="{mode}" the outputs for tasks {a} and {b} are identical on '
                                  f'the same images: the network ignores z')


@graded(points=1, timeout=40)
def test_rows_use_their_own_descriptor(student):
    """every conditioning: row b of the output depends on row b of z (a batch may mix tasks)"""
    x = random_images(6, seed=7)
    task_ids = [2, 0, 1, 1, 0, 2]
    for mode in MODES:
        model = build_model(student, mode, seed=7)
        require_responsive(student, model, mode)
        mixed = outputs(student, model, x, one_hot(task_ids), mode)
        for t in range(NUM_TASKS):
            rows = [i for i, tid in enumerate(task_ids) if tid == t]
            alone = outputs(student, model, x[rows], one_hot([t] * len(rows)), mode)
            close(mixed[rows], alone, atol=1e-5,
                  what=f'with conditioning="{mode}", the outputs of the task-{t} rows of a batch that mixes tasks '
                       f'(compared with a batch of those rows alone)')


@graded(points=1, timeout=30)
def test_multiplicative_gate_switches_off(student):
    """"multiplicative": with z = 0 the gate G z switches every feature off, so x no longer matters"""
    model = build_model(student, "multiplicative", seed=8)
    require_responsive(student, model, "multiplicative")
    zero = np.zeros((3, NUM_TASKS), np.float32)
    first = outputs(student, model, random_images(3, seed=8), zero, "multiplicative")
    second = outputs(student, model, random_images(3, seed=9), zero, "multiplicative")
    close(first, second, atol=1e-5,
          what='conditioning="multiplicative" with z = 0 on two different batches of images (h_1 = ReLU(W_1 x + b_1) '
               '* G z is 0 for every x, so the outputs should not depend on x: multiply, do not add, and no bias in G)')
    additive = build_model(student, "additive", seed=8)
    a = outputs(student, additive, random_images(3, seed=8), zero, "additive")
    b = outputs(student, additive, random_images(3, seed=9), zero, "additive")
    if np.abs(a - b).max() < 1e-6:
        fail('conditioning="additive" with z = 0 gives the same output for different images: the input x must '
             'still pass through the first layer (h_1 = ReLU(W_1 x + b_1 + E z))')
