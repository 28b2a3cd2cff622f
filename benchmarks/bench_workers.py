"""Worker cost: forked from a zygote (the default) against a fresh interpreter per test.

Both are measured in this one run, interleaved, with the same isolation (the strongest this machine
allows, as ``grade`` chooses it):

1. **per-test overhead**: the time to start a worker that loaded a tiny submission, answer one call
   and close it, over ``--starts`` rounds (median), for fork and fresh;
2. **the course**: each assignment's reference graded through :class:`~metakit.grading.runner.Grader`
   with ``--jobs 2`` (the README's 2 cores), fork and fresh: wall time, score, and the peak summed
   proportional set size (PSS) of the whole grading process tree, sampled every 0.3 s.

    python benchmarks/bench_workers.py [--hw hw_example hw0 hw1 hw2 hw3] [--starts 10] [--skip-fresh]

Measured 2026-12-07 with --skip-fresh on an otherwise idle 2-core machine (namespaces, as root): a
worker starts in 38 ms forked, 884 ms fresh (23.5x, median of 10); the course's references graded
with fork workers in 94 s (hw_example 1.6 s, hw0 14.2 s, hw1 15.6 s, hw2 22.2 s, hw3 40.8 s), full
marks each, peaks 257, 584, 639, 616 and 1,847 MB. Earlier figures, at load 11-13: forked 0.31-0.54 s,
fresh 12.6-18.5 s.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import psutil

from metakit.grading.runner import Grader, Submission
from metakit.grading.sandbox import PROBE_CELLS, Limits, SandboxConfig, WorkerProcess, Zygote, choose_isolation
from metakit.paths import REPO_ROOT


def start_seconds(mode: str, zygote: Zygote | None, config: SandboxConfig) -> float:
    started = time.perf_counter()
    worker = WorkerProcess(PROBE_CELLS, Limits(wall_s=60), config, seed=0, mode=mode, zygote=zygote)
    worker.request({"op": "call", "target": "metakit_probe_softmax", "args": [[1.0, 2.0]], "kwargs": {}}, "bench")
    worker.close()
    return time.perf_counter() - started


def overhead(starts: int) -> dict[str, float]:
    config = SandboxConfig(workers="fork")
    mode = choose_isolation(config)
    zygote = Zygote(config, mode)
    fork, fresh = [], []
    try:
        for _ in range(starts):           # interleaved, so load changes hit both alike
            fork.append(start_seconds(mode, zygote, config))
            fresh.append(start_seconds(mode, None, SandboxConfig(workers="fresh")))
    finally:
        zygote.close()
    return {"mode": mode, "fork": statistics.median(fork), "fresh": statistics.median(fresh)}


class PeakMemory:
    """Peak summed PSS (MB) of this process's children and their descendants."""

    def __init__(self) -> None:
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0.0
            for proc in me.children(recursive=True):
                try:
                    total += proc.memory_full_info().pss / 2**20
                except (psutil.Error, AttributeError):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.3)


def grade_reference(hw: str, workers: str) -> dict:
    grader = Grader(hw, workers=workers)
    try:
        with PeakMemory() as memory:
            started = time.perf_counter()
            result = grader.grade_all([Submission("reference", REPO_ROOT / "solutions" / hw / f"{hw}.ipynb")],
                                      jobs=2, progress=False)[0]
            seconds = time.perf_counter() - started
    finally:
        grader.close()
    return {"seconds": seconds, "score": result.score, "max": result.max_score, "tests": len(result.tests),
            "peak_mb": memory.peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hw", nargs="*", default=["hw_example", "hw0", "hw1", "hw2", "hw3"])
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--skip-fresh", action="store_true", help="grade the course with fork workers only")
    args = parser.parse_args()

    cost = overhead(args.starts)
    print(f"isolation: {cost['mode']}")
    print(f"per-test worker start (median of {args.starts}): fork {cost['fork'] * 1000:.0f} ms, "
          f"fresh {cost['fresh'] * 1000:.0f} ms, ratio fresh/fork {cost['fresh'] / cost['fork']:.1f}x")
    print(f"\n{'assignment':<11} {'tests':>5} {'score':>9} {'fork s':>8} {'peak MB':>8} {'fresh s':>8} {'peak MB':>8}")
    totals = {"fork": 0.0, "fresh": 0.0}
    for hw in args.hw:
        fork = grade_reference(hw, "fork")
        fresh = None if args.skip_fresh else grade_reference(hw, "fresh")
        totals["fork"] += fork["seconds"]
        line = f"{hw:<11} {fork['tests']:>5} {fork['score']:>4g}/{fork['max']:<4g} {fork['seconds']:>8.1f} {fork['peak_mb']:>8.0f}"
        if fresh is not None:
            totals["fresh"] += fresh["seconds"]
            assert fresh["score"] == fork["score"], f"{hw}: fork and fresh workers gave different scores"
            line += f" {fresh['seconds']:>8.1f} {fresh['peak_mb']:>8.0f}"
        print(line, flush=True)
    print(f"\ncourse (references, --jobs 2): fork {totals['fork']:.0f} s"
          + ("" if args.skip_fresh else f", fresh {totals['fresh']:.0f} s, ratio {totals['fresh'] / totals['fork']:.2f}x"))


if __name__ == "__main__":
    main()
