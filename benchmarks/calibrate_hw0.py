"""Calibrate hw0's training threshold: the reference solution on 20 seeds, in-process, no sandbox.

Runs exactly what autograder/hw0/test_training.py runs (the same pixel-shuffled data, configuration
and kit loop; the accuracy of the docstring's concat network computed from the trained parameters, as
the grader computes it), once per seed, with the reference's TaskConditionedNet,
sample_task_batch and multitask_loss taken from solutions/hw0/hw0.ipynb. Prints every seed's mean test
accuracy, the distribution, the pass rate at the grader's THRESHOLD, and the wrong-work figures that
the threshold must stay above (majority label; an untrained model).

    .venv/bin/python benchmarks/calibrate_hw0.py [--seeds 20]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from metakit.grading.authoring import notebook_module
from metakit.grading.harness import set_seed
from metakit.grading.local import file_module
from metakit.multitask import taskset_from_arrays, train_multitask
from metakit.paths import REPO_ROOT


def load_grader():
    sys.path.insert(0, str(REPO_ROOT / "autograder" / "hw0"))
    return file_module(REPO_ROOT / "autograder" / "hw0" / "test_training.py", "hw0_test_training")


def reference_namespace() -> dict:
    """The reference notebook's given and solution cells, definitions only (as the grader takes them)."""
    return vars(notebook_module(REPO_ROOT / "solutions" / "hw0" / "hw0.ipynb", "hw0_reference"))


def run_seed(grader, ref: dict, seed: int, train_steps: bool = True) -> float:
    """Mean test accuracy of one run, computed as the grader computes it."""
    train, test = grader.training_data()
    config = grader.CONFIG
    taskset = taskset_from_arrays(train)
    set_seed(seed)
    model = ref["TaskConditionedNet"](num_tasks=len(train), num_outputs=1, conditioning=config["mode"],
                                      hidden=config["hidden"])
    if train_steps:
        train_multitask(model, taskset, ref["sample_task_batch"], ref["multitask_loss"], steps=config["steps"],
                        tasks_per_batch=config["tasks_per_batch"], batch_size=config["batch_size"], lr=config["lr"],
                        seed=seed, progress=False)
    model.eval()
    values = {name: t.detach().double().numpy() for name, t in model.state_dict().items()}
    probe_x = np.concatenate([t["x"][:6] for t in test])
    probe_z = np.eye(len(train), dtype=np.float32)[np.repeat(np.arange(len(train)), 6)]
    with torch.no_grad():
        own = model(torch.from_numpy(probe_x), torch.from_numpy(probe_z)).double().numpy()
    layers = grader.documented_network(values, own, probe_x, probe_z, len(train))
    if layers is None:
        raise RuntimeError("the reference's outputs are not the grader's documented concat network")
    scores = []
    for task, data in enumerate(test):
        z = np.eye(len(train), dtype=np.float32)[[task] * len(data["y"])]
        scores.append(grader.accuracy(grader.concat_forward(layers, data["x"], z), data["y"]))
    return float(np.mean(scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    grader = load_grader()
    ref = reference_namespace()
    _, test = grader.training_data()
    majority = float(np.mean([grader.majority(d["y"]) for d in test]))
    start = time.perf_counter()
    scores = []
    for seed in range(args.seeds):
        scores.append(run_seed(grader, ref, seed))
        print(f"seed {seed:2d}: mean test accuracy {scores[-1]:.3f}", flush=True)
    elapsed = time.perf_counter() - start
    untrained = [run_seed(grader, ref, seed, train_steps=False) for seed in range(5)]
    scores_array = np.array(scores)
    passed = int((scores_array >= grader.THRESHOLD).sum())
    print(f"\nconfig {grader.CONFIG}, data {grader.DATA}")
    print(f"reference over {args.seeds} seeds: min {scores_array.min():.3f}, 5th pct {np.percentile(scores_array, 5):.3f}, "
          f"median {np.median(scores_array):.3f}, max {scores_array.max():.3f} ({elapsed / args.seeds:.2f} s a run)")
    print(f"threshold {grader.THRESHOLD:.2f}: {passed}/{args.seeds} seeds pass")
    print(f"wrong work stays below: majority label {majority:.3f}, untrained models "
          f"{', '.join(f'{u:.3f}' for u in untrained)}")
    return 0 if passed == args.seeds else 1


if __name__ == "__main__":
    sys.exit(main())
