"""Hidden graders of hw0: sample_task_batch (two-stage sampling), tested statistically with fixed seeds."""
import numpy as np

from conftest import HARNESS, chi_square_p_value, raises_value_error
from metakit.grading import as_array, check, graded

SIZES = [2, 20, 200, 2000]
P_MIN = 1e-3   # the reference passes with p far above this; a wrong distribution gives p ~ 1e-100


def sample(student, sizes, num_tasks, batch_size, seed=None, proportional=None, generator=None):
    """Call the student's sampler with a fresh generator seeded ``seed`` (or ``generator``, a Ref);
    (task_ids, [example ids]) as int64 arrays, after checking the shapes and the ranges."""
    if generator is None:
        generator = student.call(f"{HARNESS}:generator", seed, keep=True)
    kwargs = {} if proportional is None else {"proportional": proportional}
    value = student.call("sample_task_batch", list(sizes), num_tasks, batch_size, generator, **kwargs)
    check(isinstance(value, (tuple, list)) and len(value) == 2,
          "sample_task_batch should return a pair (task_ids, example_ids)")
    where = f"sample_task_batch({list(sizes)}, num_tasks={num_tasks}, batch_size={batch_size}, ...)"
    task_ids = as_array(value[0], f"the task_ids of {where}", shape=(num_tasks,))
    check(np.array_equal(task_ids, np.round(task_ids)), f"{where}: task_ids should hold whole numbers (task indices)")
    task_ids = task_ids.astype(np.int64)
    check(isinstance(value[1], (list, tuple)) and len(value[1]) == num_tasks,
          f"{where}: example_ids should be a list with one tensor per sampled task ({num_tasks})")
    examples = [as_array(e, f"example_ids[{i}] of {where}").astype(np.int64).reshape(-1) for i, e in enumerate(value[1])]
    check(task_ids.min() >= 0 and task_ids.max() < len(sizes),
          f"{where}: task ids should lie in 0..{len(sizes) - 1}; got {task_ids.min()}..{task_ids.max()}")
    return task_ids, examples


@graded(points=2, timeout=40)
def test_sampler_uniform_over_tasks(student):
    """uniform task sampling: every task equally likely whatever its data size (chi-square test, fixed seed)"""
    for proportional in (None, False):
        task_ids, _ = sample(student, SIZES, 4000, 1, seed=11, proportional=proportional)
        counts = np.bincount(task_ids, minlength=len(SIZES))
        p_uniform = chi_square_p_value(counts, np.full(len(SIZES), 1 / len(SIZES)))
        how = "by default" if proportional is None else "with proportional=False"
        check(p_uniform > P_MIN,
              f"sample_task_batch: {how} the tasks (sizes {SIZES}) should be drawn uniformly; 4000 draws gave counts "
              f"{counts.tolist()} (chi-square p = {p_uniform:.2g}; expected about 1000 each)")
        pairs = task_ids[0::2] * len(SIZES) + task_ids[1::2]
        p_pairs = chi_square_p_value(np.bincount(pairs, minlength=len(SIZES) ** 2), np.full(16, 1 / 16))
        check(p_pairs > P_MIN, f"sample_task_batch: {how} the task ids of one call are not independent draws: consecutive pairs "
                               f"(task_ids[2k], task_ids[2k+1]) are not uniform over the 16 pairs "
                               f"(chi-square p = {p_pairs:.2g}); draw every task independently")


@graded(points=1, timeout=40)
def test_sampler_with_replacement(student):
    """tasks are drawn with replacement: a small batch of tasks repeats tasks as often as chance says"""
    generator = student.call(f"{HARNESS}:generator", 17, keep=True)
    calls, repeats = 150, 0
    for _ in range(calls):
        task_ids, _ = sample(student, [5, 6, 7, 8], 3, 2, generator=generator)
        repeats += len(set(task_ids.tolist())) < 3
    # P(a repeat among 3 uniform draws of 4 tasks) = 1 - 4*3*2/64 = 0.625: 150 calls give about 94
    check(60 <= repeats <= 125,
          f"sample_task_batch: with 4 tasks and num_tasks=3, {repeats} of {calls} calls drew some task twice; independent draws with "
          f"replacement repeat a task in about 94 (62.5%) of them")


@graded(points=1, timeout=40)
def test_sampler_proportional(student):
    """proportional task sampling: task i drawn with probability size_i / sum of sizes (chi-square test)"""
    task_ids, _ = sample(student, SIZES, 4000, 1, seed=12, proportional=True)
    counts = np.bincount(task_ids, minlength=len(SIZES))
    probs = np.asarray(SIZES, np.float64) / sum(SIZES)
    p_value = chi_square_p_value(counts, probs)
    check(p_value > P_MIN,
          f"sample_task_batch with proportional=True: task i should be drawn with probability size_i / {sum(SIZES)}; 4000 draws gave "
          f"counts {counts.tolist()}, expected about {np.round(probs * 4000).astype(int).tolist()} "
          f"(chi-square p = {p_value:.2g})")
    sizes = [30, 10, 60]
    task_ids, _ = sample(student, sizes, 3000, 2, seed=14, proportional=True)
    p_value = chi_square_p_value(np.bincount(task_ids, minlength=3), np.asarray(sizes) / 100)
    check(p_value > P_MIN, f"sample_task_batch with proportional=True and sizes {sizes}: 3000 draws gave counts "
                           f"{np.bincount(task_ids, minlength=3).tolist()}; expected about [900, 300, 1800]")


@graded(points=1, timeout=40)
def test_sampler_examples(student):
    """data sampling: min(batch_size, size) distinct indices per sampled task, uniform over its examples"""
    sizes = [3, 7, 40, 1]
    task_ids, examples = sample(student, sizes, 900, 5, seed=13)
    pooled = {t: [] for t in range(len(sizes))}
    for i, (t, idx) in enumerate(zip(task_ids.tolist(), examples)):
        expected = min(5, sizes[t])
        check(len(idx) == expected, f"sample_task_batch: sampled task {i} (task {t}, {sizes[t]} examples) got {len(idx)} example "
                                    f"indices; expected min(batch_size=5, {sizes[t]}) = {expected}")
        check(len(set(idx.tolist())) == len(idx), f"sample_task_batch: the example indices of one sampled task must be distinct "
                                                  f"(drawn without replacement); got {sorted(idx.tolist())}")
        check(idx.min() >= 0 and idx.max() < sizes[t], f"sample_task_batch: task {t} has {sizes[t]} examples, but example indices "
                                                      f"{idx.min()}..{idx.max()} were drawn for it")
        pooled[t] += idx.tolist()
    counts = np.bincount(np.asarray(pooled[2], np.int64), minlength=sizes[2])
    p_value = chi_square_p_value(counts, np.full(sizes[2], 1 / sizes[2]))
    check(p_value > P_MIN, f"sample_task_batch: the example indices of a 40-example task are not uniform over its examples "
                           f"(chi-square p = {p_value:.2g}; counts {counts.tolist()})")
    # every subset equally likely: each pair of examples is drawn together equally often
    _, examples = sample(student, [10], 3000, 3, seed=15)
    together = np.zeros((10, 10))
    for idx in examples:
        for a in idx:
            for b in idx:
                together[a, b] += a != b
    upper = together[np.triu_indices(10, 1)]
    p_pairs = chi_square_p_value(upper, np.full(upper.size, 1 / upper.size))
    check(p_pairs > P_MIN, f"sample_task_batch: batches of 3 of a task's 10 examples should be uniform random subsets; some pairs of "
                           f"examples are drawn together far more often than others (chi-square p = {p_pairs:.2g})")


@graded(points=1, timeout=30)
def test_sampler_return_types(student):
    """task_ids is an int64 tensor [num_tasks]; example_ids a list of 1-d int64 tensors"""
    generator = student.call(f"{HARNESS}:generator", 3, keep=True)
    kept = student.call("sample_task_batch", [4, 9, 2], 6, 3, generator, keep=True)
    check(kept.type in ("tuple", "list"), f"sample_task_batch should return a pair; it returned a {kept.type}")
    ids_ref = student.method(kept, "__getitem__", 0, keep=True)
    examples_ref = student.method(kept, "__getitem__", 1, keep=True)
    check(ids_ref.type == "Tensor", f"sample_task_batch: task_ids should be a torch tensor; it is a {ids_ref.type}")
    ids = student.method(kept, "__getitem__", 0)
    check(getattr(ids, "dtype", None) == np.int64 and np.shape(ids) == (6,),
          f"sample_task_batch: task_ids should be an int64 tensor [6]; it is {getattr(ids, 'dtype', type(ids).__name__)} "
          f"{list(np.shape(ids))}")
    check(examples_ref.type == "list", f"sample_task_batch: example_ids should be a list of tensors; it is a {examples_ref.type}")
    for i in range(6):
        one = student.method(examples_ref, "__getitem__", i, keep=True)
        check(one.type == "Tensor", f"sample_task_batch: example_ids[{i}] should be a torch tensor; it is a {one.type}")
        value = student.method(examples_ref, "__getitem__", i)
        check(getattr(value, "dtype", None) == np.int64 and np.ndim(value) == 1,
              f"sample_task_batch: example_ids[{i}] should be a 1-d int64 tensor; it is {getattr(value, 'dtype', '?')} with shape "
              f"{list(np.shape(value))}")


@graded(points=1, timeout=40)
def test_sampler_uses_the_generator(student):
    """randomness only from the given generator: the same seed gives the same batch, whatever the global seed"""
    student.call(f"{HARNESS}:set_seed", 1)
    first_ids, first_examples = sample(student, SIZES, 12, 4, seed=21)
    student.call(f"{HARNESS}:set_seed", 2)
    second_ids, second_examples = sample(student, SIZES, 12, 4, seed=21)
    same = np.array_equal(first_ids, second_ids) and all(np.array_equal(a, b) for a, b in
                                                         zip(first_examples, second_examples))
    check(same, "sample_task_batch: two generators seeded alike gave different batches (the global random seed differed between the "
                "calls): draw every random number with generator=generator")
    other_ids, other_examples = sample(student, SIZES, 12, 4, seed=22)
    differs = not np.array_equal(first_ids, other_ids) or any(not np.array_equal(a, b) for a, b in
                                                              zip(first_examples, other_examples))
    check(differs, "sample_task_batch: generators with different seeds gave the same batch: use the generator you are given")
    # one generator, two calls (as in a training loop): the second batch continues the generator's stream
    generator = student.call(f"{HARNESS}:generator", 21, keep=True)
    sample(student, SIZES, 12, 4, generator=generator)
    next_ids, next_examples = sample(student, SIZES, 12, 4, generator=generator)
    moved = not np.array_equal(first_ids, next_ids) or any(not np.array_equal(a, b) for a, b in
                                                           zip(first_examples, next_examples))
    check(moved, "sample_task_batch: a second call with the same generator gave the first call's batch again: draw from the generator "
                 "itself (do not re-seed a new one from it), so that every training step gets a new batch")
    # the global random state is neither used nor re-seeded
    probes = [("torch:rand", (3,)), ("numpy.random:random", (3,)), ("random:random", ())]
    for target, args in probes:
        student.call(f"{HARNESS}:set_seed", 5)
        untouched = np.asarray(student.call(target, *args), np.float64)
        student.call(f"{HARNESS}:set_seed", 5)
        sample(student, SIZES, 12, 4, seed=23)
        after = np.asarray(student.call(target, *args), np.float64)
        check(np.array_equal(untouched, after), f"sample_task_batch changed the global random state "
                                                f"({target.split(':')[0]}): use only the generator you are given, "
                                                f"never the global random functions or manual_seed")


@graded(points=1, timeout=30)
def test_sampler_rejects_bad_input(student):
    """sample_task_batch raises ValueError for no tasks, an empty task, or num_tasks / batch_size below 1"""
    generator = student.call(f"{HARNESS}:generator", 0, keep=True)
    ids, examples = sample(student, [1, 6], 3, 8, generator=generator)
    check(all(len(e) == min(8, [1, 6][t]) for t, e in zip(ids.tolist(), examples)),
          "sample_task_batch([1, 6], 3, 8, generator) should return min(8, size) indices per sampled task (a task "
          "of size 1 is valid)")
    ids, examples = sample(student, [4, 6], 1, 1, generator=generator)
    check(len(examples) == 1 and len(examples[0]) == 1,
          "sample_task_batch([4, 6], num_tasks=1, batch_size=1, generator) should return one task and one example "
          "index (only values below 1 are errors)")
    cases = [([], 2, 2, "task_sizes = []"), ([5, 0], 2, 2, "a task of size 0"), ([5, -3], 2, 2, "a task of size -3"),
             ([5, 6], 0, 2, "num_tasks = 0"), ([5, 6], -1, 2, "num_tasks = -1"), ([5, 6], 2, 0, "batch_size = 0")]
    for sizes, num_tasks, batch_size, what in cases:
        ok, happened = raises_value_error(student, "sample_task_batch", sizes, num_tasks, batch_size, generator)
        check(ok, f"sample_task_batch with {what} should raise ValueError; {happened}")
