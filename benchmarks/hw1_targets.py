"""hw1 targets: train the reference MANN with the notebook's settings; accuracy and wall time.

For every (N, K) in the ``SETTINGS`` of ``solutions/hw1/hw1.ipynb`` (the settings a student runs),
this trains the reference ``MANN`` with the reference ``make_mann_batch`` and ``mann_loss`` through
``metakit.blackbox.train_blackbox`` on

* real Omniglot, 28x28 (the two official minimal splits in ``../shared/omniglot``, 242 distinct
  characters, split by character into 200 meta-training and 42 held-out ones), and
* the kit's glyphs (split by character),

then measures the query accuracy on 2000 held-out episodes, and prints it with the wall time
against the issue's targets (Omniglot: 2-way 1-shot and 2-way 2-shot >= 90%, 3-way 1-shot >= 80%,
4-way 1-shot >= 70%, each run <= 300 s on 2 CPU cores). It takes about as long as the runs do
(20-30 minutes): run it under ``nice`` on a quiet machine, since the times are the point.

Run: ``python benchmarks/hw1_targets.py [--data omniglot glyphs] [--only 2,1 3,1] [--threads 2] [--steps-factor 2]
[--set augment=True hidden=256]``

``--steps-factor F`` trains F times the notebook's steps (same schedule shape, rounded): one point of
the curve of accuracy against budget where a target is missed. ``--set KEY=VALUE`` overrides one of the
settings (``hidden``, ``meta_batch``, ``lr``, ``rotations``, ``augment``: affine warps of the training
images, ...) for every run.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from calibrate_hw1 import SOLUTION, load_cells  # noqa: E402
from hw2_targets import parse_overrides  # noqa: E402
from metakit import blackbox  # noqa: E402
from metakit.episodes import EpisodeSampler  # noqa: E402

TARGETS = {(2, 1): 0.90, (2, 2): 0.90, (3, 1): 0.80, (4, 1): 0.70}  # Omniglot, held-out characters
BUDGET_S = 300.0
FINAL_EPISODES = 2000


def notebook_settings() -> dict[tuple[int, int], dict]:
    """``SETTINGS = {(N, K): {...}}`` of the solution notebook's experiment cell (full settings).

    Only that cell's top-level assignments run (``COMMON = {...}``, ``SETTINGS = {...}``, not the
    ``if SMALL:`` branch), without builtins: the dictionaries are literals and ``**`` merges."""
    notebook = json.loads(SOLUTION.read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        module = ast.parse("".join(cell["source"]))
        assigns = [node for node in module.body if isinstance(node, ast.Assign)]
        if any(getattr(t, "id", None) == "SETTINGS" for node in assigns for t in node.targets):
            namespace: dict = {"__builtins__": {}, "SMALL": False}
            for node in assigns:
                if all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
                    exec(compile(ast.Module([node], []), str(SOLUTION), "exec"), namespace)
            return namespace["SETTINGS"]
    raise LookupError(f"no SETTINGS = {{...}} in {SOLUTION}")


def final_accuracy(reference, model, data: blackbox.DataSplit, ways: int, shots: int) -> tuple[float, float]:
    """Query accuracy on FINAL_EPISODES held-out episodes (other episodes than the curves') and the
    half-width of its 95% interval (normal approximation over the episodes' N queries)."""
    sampler = EpisodeSampler(data.test, ways, shots, 1, seed=424242)
    accuracy, _ = blackbox.evaluate_blackbox(reference.make_mann_batch, model, reference.mann_loss, sampler,
                                             episodes=FINAL_EPISODES, seed=7)
    queries = FINAL_EPISODES * ways
    return accuracy, 1.96 * math.sqrt(max(accuracy * (1 - accuracy), 1e-12) / queries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["omniglot", "glyphs"], choices=["omniglot", "glyphs"])
    parser.add_argument("--only", nargs="*", default=None, help="settings as N,K (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--steps-factor", type=float, default=1.0, help="train this many times the notebook's steps")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override a setting for every run, e.g. augment=True hidden=256")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reference = load_cells()
    settings = notebook_settings()
    if args.only:
        wanted = {tuple(int(x) for x in s.split(",")) for s in args.only}
        settings = {key: value for key, value in settings.items() if key in wanted}
    overrides = parse_overrides(args.set)
    settings = {key: {**value, **overrides} for key, value in settings.items()}
    settings = {key: {**value, "steps": max(1, round(value["steps"] * args.steps_factor))}
                for key, value in settings.items()}
    if overrides:
        print(f"overrides: {overrides}", flush=True)
    rows, missed = [], []
    for source in args.data:
        if source == "omniglot" and not blackbox.omniglot_available():
            print(f"skipping omniglot: the official minimal splits are not in {blackbox.shared_omniglot_dir()}")
            continue
        data = blackbox.load_data(source)
        print(data.summary(), flush=True)
        for (ways, shots), s in settings.items():
            torch.manual_seed(0)
            model = reference.MANN(ways, shots + 1, s["hidden"])
            started = time.perf_counter()
            train_settings = {key: value for key, value in s.items() if key not in ("hidden", "rotations", "augment")}
            samplers = blackbox.episode_samplers(data, ways, shots, seed=0, rotations=s.get("rotations", False),
                                                 augment=s.get("augment", False))
            result = blackbox.train_blackbox(reference.make_mann_batch, model, reference.mann_loss, *samplers,
                                             eval_every=max(1, s["steps"] // 5), eval_episodes=300,
                                             seed=0, progress=not args.no_progress, **train_settings)
            wall = time.perf_counter() - started
            accuracy, ci = final_accuracy(reference, model, data, ways, shots)
            target = TARGETS.get((ways, shots)) if source == "omniglot" else None
            ok = target is None or (accuracy >= target and wall <= BUDGET_S)
            if not ok:
                missed.append(f"{source} {ways}-way {shots}-shot")
            rows.append((source, ways, shots, s, accuracy, ci, target, wall, ok))
            print(f"  {ways}-way {shots}-shot: accuracy {100 * accuracy:.1f}% +- {100 * ci:.1f} "
                  f"(target {'-' if target is None else f'{100 * target:.0f}%'}), {wall:.0f} s "
                  f"({wall / BUDGET_S:.2f} of the {BUDGET_S:.0f} s budget); curve "
                  f"{[round(a, 3) for a in result.curve('query_accuracy')[1]]}", flush=True)
    print(f"\nhw1 targets ({args.threads} threads; hidden, meta-batch, steps, lr from the notebook's SETTINGS)")
    print(f"{'data':9} {'setting':14} {'hidden':>6} {'batch':>5} {'steps':>6} {'lr':>7} {'accuracy':>15} "
          f"{'target':>6} {'wall s':>7} {'/budget':>7}  ok")
    for source, ways, shots, s, accuracy, ci, target, wall, ok in rows:
        print(f"{source:9} {f'{ways}-way {shots}-shot':14} {s['hidden']:6d} {s['meta_batch']:5d} {s['steps']:6d} "
              f"{s['lr']:7.0e} {f'{100 * accuracy:.1f}% +- {100 * ci:.1f}':>15} "
              f"{'-' if target is None else f'{100 * target:.0f}%':>6} {wall:7.0f} {wall / BUDGET_S:7.2f}  "
              f"{'yes' if ok else 'NO'}")
    if missed:
        print("targets missed: " + ", ".join(missed))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
