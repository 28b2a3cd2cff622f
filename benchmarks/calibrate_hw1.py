"""Calibrate hw1's hidden training test: run it on the reference solution for 20 seeds.

The hidden test ``autograder/hw1/test_training.py::test_training_reaches_accuracy`` trains the
submitted MANN with the submitted mann_loss on grader-laid-out glyph episodes and scores it on
held-out characters. This script runs the very same ``training_accuracy`` function in-process
(no sandbox, one thread like a grading worker) against the reference cells of
``solutions/hw1/hw1.ipynb``, once per seed, and prints the pass rate at the test's threshold and
the distribution of accuracies (the grader scores the trained weights with its own MANN). It also runs the known-wrong variants that the training test is
meant to catch, to show the gap.

Run: ``python benchmarks/calibrate_hw1.py [--seeds 20] [--no-variants]``
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "autograder" / "hw1"))  # the graders' conftest.py (their own MANN)

from metakit.grading.authoring import notebook_module  # noqa: E402
from metakit.grading.local import LocalStudent, file_module  # noqa: E402
from metakit.grading.variants import apply_variant, load_variant  # noqa: E402

SOLUTION = REPO / "solutions" / "hw1" / "hw1.ipynb"
TEST_FILE = REPO / "autograder" / "hw1" / "test_training.py"
VARIANTS = REPO / "tests" / "variants" / "hw1"


def load_cells(path: Path = SOLUTION) -> types.ModuleType:
    """A notebook's given and solution cells (definitions only) as a module."""
    return notebook_module(path, "hw1_reference")


def load_test_module() -> types.ModuleType:
    return file_module(TEST_FILE, "hw1_test_training")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-variants", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # like a grading worker
    test = load_test_module()
    test.glyph_pools()  # build or load the glyph cache once, outside the timings
    print(f"hw1 training test: {test.WAYS}-way {test.SHOTS}-shot glyphs, hidden {test.HIDDEN}, {test.STEPS} steps x "
          f"meta-batch {test.META_BATCH}, lr {test.LR:g}, {test.EVAL_EPISODES} held-out episodes; "
          f"threshold {test.THRESHOLD:.2f}")
    student = LocalStudent(load_cells())
    accuracies, seconds = [], []
    for seed in range(args.seeds):
        start = time.perf_counter()
        accuracy, _ = test.training_accuracy(student, seed=seed)
        seconds.append(time.perf_counter() - start)
        accuracies.append(accuracy)
        print(f"  seed {seed:2d}: accuracy {accuracy:.3f} ({seconds[-1]:.1f} s)", flush=True)
    acc = np.array(accuracies)
    passed = int((acc >= test.THRESHOLD).sum())
    print(f"reference: pass rate {passed}/{len(acc)} at threshold {test.THRESHOLD:.2f}; accuracy min {acc.min():.3f}, "
          f"5th pct {np.percentile(acc, 5):.3f}, median {np.median(acc):.3f}, mean {acc.mean():.3f}, max {acc.max():.3f}; "
          f"{np.mean(seconds):.1f} s per run (one thread, this machine)")
    if not args.no_variants:
        for path in sorted(VARIANTS.glob("*.py")):
            variant = load_variant(path)
            if "test_training_reaches_accuracy" not in variant.catches:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                notebook = apply_variant(SOLUTION, variant, Path(tmp) / f"{variant.name}.ipynb")
                module = load_cells(notebook)
            run = test.training_run(LocalStudent(module), seed=0)
            caught = run.accuracy < test.THRESHOLD or not np.isfinite(run.losses).all() or run.unchanged
            print(f"variant {variant.name}: accuracy {run.accuracy:.3f}"
                  f"{', unchanged ' + ','.join(run.unchanged) if run.unchanged else ''} -> "
                  f"{'caught' if caught else 'NOT CAUGHT'}")
    return 0 if passed == len(acc) else 1


if __name__ == "__main__":
    sys.exit(main())
