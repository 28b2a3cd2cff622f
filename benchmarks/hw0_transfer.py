"""hw0's transfer figures: positive and negative transfer on glyphs and on real Omniglot alphabets.

Runs the reference solution (solutions/hw0/hw0.ipynb) with the notebook's default settings over several
seeds and prints, per dataset, the mean test accuracy of the independent networks and each conditioning,
and the transfer (multi-task minus independent, with a 95% interval over seeds) in the notebook's three
settings:

* **same question** (top_heavy asked of every alphabet): positive transfer expected for every
  conditioning that shares parameters;
* **recognise** (one character-classification task per alphabet): negative transfer expected where the
  output layer is shared (concat, additive, multiplicative);
* **conflict** (same question plus a label-permuted twin of every task, concat): the real tasks' accuracy
  with the twins, the gradient cosines between real tasks and between a task and its twin.

Omniglot is skipped with a message when the official minimal splits are not in ../shared/omniglot.

    .venv/bin/python benchmarks/hw0_transfer.py [--seeds 3] [--datasets glyphs omniglot]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from metakit.multitask import (CONDITIONINGS, TaskSet, build_taskset, conflicting_task, glyph_tasks,
                               load_omniglot_alphabets, train_independent, train_multitask)
from metakit.stats import mean_ci95

sys.path.insert(0, __import__("os").path.dirname(__file__))
from calibrate_hw0 import reference_namespace  # noqa: E402

STEPS_PER_TASK, TASKS_PER_BATCH, BATCH_SIZE, HIDDEN = 150, 4, 16, 64


def tasksets(dataset: str) -> dict[str, TaskSet]:
    options = {"train_drawers": 3, "test_drawers": 6}
    if dataset == "glyphs":
        return {"same question": glyph_tasks(num_alphabets=10, recognise=False, questions=("top_heavy",), **options),
                "recognise": glyph_tasks(num_alphabets=10, **options)}
    charset = load_omniglot_alphabets()
    return {"same question": build_taskset(charset, recognise=False, questions=("top_heavy",), **options),
            "recognise": build_taskset(charset, **options)}


def run(ref: dict, tasks: TaskSet, mode: str, hidden: int, seed: int, weights=None):
    torch.manual_seed(seed)
    model = ref["TaskConditionedNet"](tasks.num_tasks, tasks.num_outputs, mode, hidden=hidden)
    result = train_multitask(model, tasks, ref["sample_task_batch"], ref["multitask_loss"],
                             steps=STEPS_PER_TASK * tasks.num_tasks // TASKS_PER_BATCH, weights=weights,
                             tasks_per_batch=TASKS_PER_BATCH, batch_size=BATCH_SIZE, seed=seed, progress=False)
    return model, result


def fmt(values) -> str:
    mean, ci = mean_ci95(values)
    return f"{mean:+.3f} +- {ci:.3f}" if len(values) > 1 else f"{mean:+.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["glyphs", "omniglot"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = reference_namespace()
    cosine = ref["task_gradient_cosine"]
    for dataset in args.datasets:
        try:
            sets = tasksets(dataset)
        except FileNotFoundError as exc:
            print(f"{dataset}: skipped ({exc})")
            continue
        start = time.perf_counter()
        print(f"\n=== {dataset} ({args.seeds} seeds; transfer = multi-task minus independent networks) ===")
        for setting, tasks in sets.items():
            hidden = HIDDEN if setting == "same question" else 2 * HIDDEN
            base, gains = [], {m: [] for m in CONDITIONINGS}
            for seed in range(args.seeds):
                independent = train_independent(tasks, steps_per_task=STEPS_PER_TASK, batch_size=BATCH_SIZE,
                                                hidden=hidden, seed=seed, progress=False).mean()
                base.append(independent)
                for mode in CONDITIONINGS:
                    gains[mode].append(run(ref, tasks, mode, hidden, seed)[1].mean() - independent)
            print(f"{setting:>14}: independent networks {np.mean(base):.3f}; transfer "
                  + ", ".join(f"{m} {fmt(v)}" for m, v in gains.items()))
        tasks = sets["same question"]
        count = tasks.num_tasks
        twins = TaskSet(tasks.tasks + [conflicting_task(t, seed=100 + i) for i, t in enumerate(tasks.tasks)])
        before, after, cos_real, cos_twin = [], [], [], []
        for seed in range(args.seeds):
            independent = train_independent(tasks, steps_per_task=STEPS_PER_TASK, batch_size=BATCH_SIZE, hidden=HIDDEN,
                                            seed=seed, progress=False).mean()
            before.append(run(ref, tasks, "concat", HIDDEN, seed)[1].mean() - independent)
            model, result = run(ref, twins, "concat", HIDDEN, seed, weights=[1.0] * count + [4.0] * count)
            after.append(result.mean(tasks.names) - independent)
            cos_real.append(np.mean([cosine(model, twins.batch(i), twins.batch((i + 1) % count)) for i in range(count)]))
            cos_twin.append(np.mean([cosine(model, twins.batch(i), twins.batch(count + i)) for i in range(count)]))
        print(f"{'conflict':>14}: concat transfer {fmt(before)} without twins, {fmt(after)} with twins (weight 4); "
              f"gradient cosine real-real {fmt(cos_real)}, real-twin {fmt(cos_twin)}")
        print(f"({time.perf_counter() - start:.0f} s for {dataset}; timings on a shared machine are noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
