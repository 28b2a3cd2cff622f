"""Throughput of the reference MAML meta-training step (tasks per second), second and first order.

The step is ``MAML.outer_step(tasks, train=True)`` from ``solutions/hw2/hw2.ipynb`` (the given
``MAMLBase`` and the reference ``inner_loop`` / ``outer_step``) on 5-way 1-shot tasks with 15
queries per class, meta-batch 32, one inner step, learned inner rates, on random 28x28 images (the
speed does not depend on the pixels). Baseline, in the same process: one plain supervised step
(forward, backward, Adam) of the same conv4 on the same query images, so the printed ratios say
what meta-learning costs on top of ordinary training, and survive a change of machine better than
the raw numbers. Rounds are interleaved and the best of each is kept.

Run: ``python benchmarks/bench_maml.py [--hidden 32] [--threads 2] [--rounds 5]``
"""
from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from metakit import fewshot  # noqa: E402
from metakit.grading.authoring import notebook_module  # noqa: E402

SOLUTION = REPO / "solutions" / "hw2" / "hw2.ipynb"
WAYS, SHOTS, QUERIES, META_BATCH = 5, 1, 15, 32


def load_reference(path: Path = SOLUTION) -> types.ModuleType:
    return notebook_module(path, "hw2_reference")


def make_tasks(seed: int) -> list[tuple]:
    gen = torch.Generator().manual_seed(seed)
    labels_s = torch.arange(WAYS).repeat_interleave(SHOTS)
    labels_q = torch.arange(WAYS).repeat_interleave(QUERIES)
    return [(torch.rand(WAYS * SHOTS, 1, 28, 28, generator=gen), labels_s,
             torch.rand(WAYS * QUERIES, 1, 28, 28, generator=gen), labels_q) for _ in range(META_BATCH)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ref = load_reference()
    tasks = make_tasks(0)
    second = ref.MAML(WAYS, hidden=args.hidden, learn_inner_lrs=True, first_order=False, seed=0)
    first = ref.MAML(WAYS, hidden=args.hidden, learn_inner_lrs=True, first_order=True, seed=0)
    params = fewshot.conv4_init(WAYS, args.hidden, seed=0)
    optimizer = torch.optim.Adam(params.values(), lr=1e-3)

    def plain_step() -> None:
        for _, _, query_x, query_y in tasks:
            loss = F.cross_entropy(fewshot.conv4_forward(params, query_x), query_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    steps = {"plain supervised step (baseline)": plain_step,
             "MAML second order": lambda: second.outer_step(tasks, train=True),
             "MAML first order": lambda: first.outer_step(tasks, train=True)}
    for step in steps.values():  # warm up
        step()
    best = {name: float("inf") for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            best[name] = min(best[name], time.perf_counter() - started)
    print(f"hw2 MAML step: {WAYS}-way {SHOTS}-shot, {QUERIES} queries per class, meta-batch {META_BATCH}, "
          f"conv4 with {args.hidden} filters, 1 inner step, learned inner rates; torch {torch.__version__}, "
          f"{args.threads} thread(s); best of {args.rounds} interleaved rounds")
    baseline = best["plain supervised step (baseline)"]
    for name, seconds in best.items():
        print(f"  {name:34s} {META_BATCH / seconds:8.1f} tasks/s   {seconds * 1000:8.1f} ms per meta-batch   "
              f"{seconds / baseline:5.2f} x baseline")
    print(f"  second order / first order: {best['MAML second order'] / best['MAML first order']:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
