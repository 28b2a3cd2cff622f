"""Calibrate hw2's hidden training tests: run them on the reference solution for 20 seeds.

``autograder/hw2/test_training.py`` has two training checks: a short ProtoNet run with the submitted
``protonet_step`` and a short MAML meta-training run with the submitted ``MAML.outer_step``, both on
easy glyph episodes, both driven by the grader (its own initialisation, episodes and Adam steps on
the submission's gradients) and scored by the grader's own forward on held-out characters. This script runs the very
same ``protonet_training_accuracy`` / ``maml_training_accuracy`` functions in-process (no sandbox,
one thread like a grading worker) against the reference cells of ``solutions/hw2/hw2.ipynb``, once
per seed, and prints the pass rate at each threshold and the distribution. It also scores the
untrained models (what a submission whose training does nothing gets) and the known-wrong variants
that break training, to show the gap.

Run: ``python benchmarks/calibrate_hw2.py [--seeds 20] [--only protonet|maml] [--no-variants]``
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
sys.path.insert(0, str(REPO / "autograder" / "hw2"))  # the graders import their conftest helpers

from metakit.grading.authoring import notebook_module  # noqa: E402
from metakit.grading.local import LocalStudent, file_module  # noqa: E402
from metakit.grading.errors import GradingFailure  # noqa: E402
from metakit.grading.variants import apply_variant, load_variant  # noqa: E402

SOLUTION = REPO / "solutions" / "hw2" / "hw2.ipynb"
TEST_FILE = REPO / "autograder" / "hw2" / "test_training.py"
VARIANTS = REPO / "tests" / "variants" / "hw2"


def load_cells(path: Path = SOLUTION) -> types.ModuleType:
    """A notebook's given and solution cells (definitions only) as a module."""
    return notebook_module(path, "hw2_reference")


def load_test_module() -> types.ModuleType:
    return file_module(TEST_FILE, "hw2_test_training")


def summarize(name: str, accuracies: list[float], seconds: list[float], threshold: float) -> bool:
    acc = np.array(accuracies)
    passed = int((acc >= threshold).sum())
    print(f"{name}: pass rate {passed}/{len(acc)} at threshold {threshold:.2f}; accuracy min {acc.min():.3f}, "
          f"5th pct {np.percentile(acc, 5):.3f}, median {np.median(acc):.3f}, mean {acc.mean():.3f}, "
          f"max {acc.max():.3f}; {np.mean(seconds):.1f} s per run (one thread, this machine)", flush=True)
    return passed == len(acc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--only", choices=["protonet", "maml"], default=None)
    parser.add_argument("--no-variants", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # like a grading worker
    test = load_test_module()
    test.glyph_pools()  # build or load the glyph cache once, outside the timings
    student = LocalStudent(load_cells())
    checks = {"protonet": (test.protonet_training_accuracy, test.PROTONET, "test_protonet_training_learns"),
              "maml": (test.maml_training_accuracy, test.MAML, "test_maml_training_learns")}
    all_pass = True
    for name, (run, settings, test_name) in checks.items():
        if args.only and name != args.only:
            continue
        print(f"{name} training check: {settings}", flush=True)
        accuracies, seconds = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            accuracies.append(run(student, seed=seed))
            seconds.append(time.perf_counter() - start)
            print(f"  seed {seed:2d}: accuracy {accuracies[-1]:.3f} ({seconds[-1]:.1f} s)", flush=True)
        all_pass &= summarize(f"{name} reference", accuracies, seconds, settings["threshold"])
        untrained = [run(student, seed=seed, train=False) for seed in range(min(args.seeds, 5))]
        print(f"{name} untrained: accuracy {np.mean(untrained):.3f} (max {np.max(untrained):.3f}, 5 seeds)")
        if args.no_variants:
            continue
        for path in sorted(VARIANTS.glob("*.py")):
            variant = load_variant(path)
            if test_name not in variant.catches:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                module = load_cells(apply_variant(SOLUTION, variant, Path(tmp) / f"{variant.name}.ipynb"))
            try:
                accuracy = run(LocalStudent(module), seed=0)
            except GradingFailure as failure:  # the grader stopped the run with a message
                print(f"  variant {variant.name}: stopped ({str(failure)[:90]}) -> caught", flush=True)
                continue
            verdict = "caught" if accuracy < settings["threshold"] else "NOT CAUGHT"
            print(f"  variant {variant.name}: accuracy {accuracy:.3f} -> {verdict}", flush=True)
    return 0 if all_pass else 1


if __name__ == "__main__":
    sys.exit(main())
