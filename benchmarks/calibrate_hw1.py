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
import importlib.util
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
from metakit.grading.variants import apply_variant, load_variant  # noqa: E402
from metakit.grading.wire import TensorArg  # noqa: E402

SOLUTION = REPO / "solutions" / "hw1" / "hw1.ipynb"
TEST_FILE = REPO / "autograder" / "hw1" / "test_training.py"
VARIANTS = REPO / "tests" / "variants" / "hw1"


class LocalStudent:
    """The ``student`` fixture's calls, run in this process on a module built from notebook cells."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def _resolve(self, target: str):
        if ":" in target:
            module_name, _, path = target.partition(":")
            obj = importlib.import_module(module_name)
        else:
            obj, path = self.module, target
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    @staticmethod
    def _arg(value):
        if isinstance(value, TensorArg):
            t = torch.from_numpy(np.array(value.array))
            return t.requires_grad_(True) if value.requires_grad else t
        return value

    @staticmethod
    def _out(value):
        if torch.is_tensor(value):
            return value.detach().cpu().numpy()
        if isinstance(value, (list, tuple)):
            return type(value)(LocalStudent._out(v) for v in value)
        if isinstance(value, dict):
            return {k: LocalStudent._out(v) for k, v in value.items()}
        return value

    def call(self, target: str, *args, keep: bool = False, **kwargs):
        value = self._resolve(target)(*map(self._arg, args), **{k: self._arg(v) for k, v in kwargs.items()})
        return value if keep else self._out(value)

    def method(self, obj, name: str, *args, keep: bool = False, **kwargs):
        value = getattr(obj, name)(*map(self._arg, args), **{k: self._arg(v) for k, v in kwargs.items()})
        return value if keep else self._out(value)

    def attr(self, obj, name: str, keep: bool = False):
        value = getattr(obj, name)
        return value if keep else self._out(value)

    def ref(self, target: str):
        return self._resolve(target)


def load_cells(path: Path = SOLUTION) -> types.ModuleType:
    """A notebook's given and solution cells (definitions only) as a module."""
    return notebook_module(path, "hw1_reference")


def load_test_module() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("hw1_test_training", TEST_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
