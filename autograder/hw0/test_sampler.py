"""Hidden graders of hw0: sample_task_batch (two-stage sampling), tested statistically with fixed seeds."""
import numpy as np

from conftest import chi_square_p_value, raises_value_error
from metakit.grading import as_array, check, graded

SIZES = [2, 20, 200, 2000]
P_MIN = 1e-3   # the reference passes with p far above this; a wrong distribution gives p ~ 1e-100


def sample(student, sizes, num_tasks, batch_size, seed, proportional=None):
    """Call the student's sampler with a fresh generator seeded ``seed``; (task_ids, [example ids])."""
    generator = student.call("metakit.grading.harness:generator", seed, keep=True)
    kwargs = {} if proportional is None else {"proportional": proportional}
    value = student.call("sample_task_batch", list(sizes), num_tasks, batch_size, generator, **kwargs)
    check(isinstance(value, (tuple, list)) and len(value) == 2,
          "sample_task_batch should return a pair (task_ids, example_ids)")
    task_ids = as_array(value[0], "task_ids", shape=(num_tasks,)).astype(np.int64)
    check(isinstance(value[1], (list, tuple)) and len(value[1]) == num_tasks,
          f"example_ids should be a list with one tensor per sampled task ({num_tasks})")
    examples = [as_array(e, f"example_ids[{i}]").astype(np.int64).reshape(-1) for i, e in enumerate(value[1])]
    check(task_ids.min() >= 0 and task_ids.max() < len(sizes),
          f"task ids should lie in 0..{len(sizes) - 1}; got {task_ids.min()}..{task_ids.max()}")
    return task_ids, examples


@graded(points=2, timeout=40)
def test_sampler_uniform_over_tasks(student):
    """uniform task sampling: every task equally likely whatever its data size (chi-square test, fixed seed)"""
    task_ids, _ = sample(student, SIZES, 4000, 1, seed=11)
    counts = np.bincount(task_ids, minlength=len(SIZES))
    p_uniform = chi_square_p_value(counts, np.full(len(SIZES), 1 / len(SIZES)))
    check(p_uniform > P_MIN,
          f"with proportional=False the tasks (sizes {SIZES}) should be drawn uniformly; 4000 draws gave counts "
          f"{counts.tolist()} (chi-square p = {p_uniform:.2g}; expected about 1000 each)")


@graded(points=1, timeout=40)
def test_sampler_proportional(student):
    """proportional task sampling: task i drawn with probability size_i / sum of sizes (chi-square test)"""
    task_ids, _ = sample(student, SIZES, 4000, 1, seed=12, proportional=True)
    counts = np.bincount(task_ids, minlength=len(SIZES))
    probs = np.asarray(SIZES, np.float64) / sum(SIZES)
    p_value = chi_square_p_value(counts, probs)
    check(p_value > P_MIN,
          f"with proportional=True task i should be drawn with probability size_i / {sum(SIZES)}; 4000 draws gave "
          f"counts {counts.tolist()}, expected about {np.round(probs * 4000).astype(int).tolist()} "
          f"(chi-square p = {p_value:.2g})")


@graded(points=1, timeout=40)
def test_sampler_examples(student):
    """data sampling: min(batch_size, size) distinct indices per sampled task, uniform over its examples"""
    sizes = [3, 7, 40]
    task_ids, examples = sample(student, sizes, 900, 5, seed=13)
    pooled = {t: [] for t in range(len(sizes))}
    for i, (t, idx) in enumerate(zip(task_ids.tolist(), examples)):
        expected = min(5, sizes[t])
        check(len(idx) == expected, f"sampled task {i} (task {t}, {sizes[t]} examples) got {len(idx)} example "
                                    f"indices; expected min(batch_size=5, {sizes[t]}) = {expected}")
        check(len(set(idx.tolist())) == len(idx), f"the example indices of one sampled task must be distinct "
                                                  f"(drawn without replacement); got {sorted(idx.tolist())}")
        check(idx.min() >= 0 and idx.max() < sizes[t], f"task {t} has {sizes[t]} examples, but example indices "
                                                      f"{idx.min()}..{idx.max()} were drawn for it")
        pooled[t] += idx.tolist()
    counts = np.bincount(np.asarray(pooled[2], np.int64), minlength=sizes[2])
    p_value = chi_square_p_value(counts, np.full(sizes[2], 1 / sizes[2]))
    check(p_value > P_MIN, f"the example indices of a 40-example task are not uniform over its examples "
                           f"(chi-square p = {p_value:.2g}; counts {counts.tolist()})")


@graded(points=1, timeout=40)
def test_sampler_uses_the_generator(student):
    """randomness only from the given generator: the same seed gives the same batch, whatever the global seed"""
    student.call("metakit.grading.harness:set_seed", 1)
    first_ids, first_examples = sample(student, SIZES, 12, 4, seed=21)
    student.call("metakit.grading.harness:set_seed", 2)
    second_ids, second_examples = sample(student, SIZES, 12, 4, seed=21)
    same = np.array_equal(first_ids, second_ids) and all(np.array_equal(a, b) for a, b in
                                                         zip(first_examples, second_examples))
    check(same, "two generators seeded alike gave different batches (the global random seed differed between the "
                "calls): draw every random number with generator=generator")
    other_ids, other_examples = sample(student, SIZES, 12, 4, seed=22)
    differs = not np.array_equal(first_ids, other_ids) or any(not np.array_equal(a, b) for a, b in
                                                              zip(first_examples, other_examples))
    check(differs, "generators with different seeds gave the same batch: use the generator you are given")


@graded(points=1, timeout=30)
def test_sampler_rejects_bad_input(student):
    """sample_task_batch raises ValueError for no tasks, an empty task, or num_tasks / batch_size below 1"""
    generator = student.call("metakit.grading.harness:generator", 0, keep=True)
    cases = [([], 2, 2, "task_sizes = []"), ([5, 0], 2, 2, "a task of size 0"), ([5, 6], 0, 2, "num_tasks = 0"),
             ([5, 6], 2, 0, "batch_size = 0")]
    for sizes, num_tasks, batch_size, what in cases:
        ok, happened = raises_value_error(student, "sample_task_batch", sizes, num_tasks, batch_size, generator)
        check(ok, f"sample_task_batch with {what} should raise ValueError; {happened}")
