"""Grading throughput: 20 submissions of hw_example with --jobs 1 and --jobs 2, and the speed-up.

Submissions are the reference, the untouched release and variants of both, so the batch has the
mix of passes, failures and exceptions a real class produces. Both runs use the same grader code
in this process: the printed ratio is jobs-2 time over jobs-1 time.

``--zygotes``: instead, --jobs 1 with the runner's lent zygotes (one for the whole batch,
:mod:`metakit.grading.zygotes`) against the baseline of one zygote started by each submission's
grading process (what the runner did before it lent them); the ratio is baseline over lent.

    python benchmarks/bench_grading.py [--count 20] [--hw hw_example] [--zygotes]
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from metakit.grading.runner import Grader, find_submissions
from metakit.paths import REPO_ROOT


def make_submissions(hw: str, count: int, folder: Path) -> None:
    reference = REPO_ROOT / "solutions" / hw / f"{hw}.ipynb"
    release = REPO_ROOT / "assignments" / hw / f"{hw}.ipynb"
    for i in range(count):
        source = reference if i % 3 else release
        notebook = json.loads(source.read_text())
        notebook["metadata"]["student"] = f"s{i:02d}"
        (folder / f"student{i:02d}.ipynb").write_text(json.dumps(notebook))


def timed_batch(hw: str, folder: Path, jobs: int, lent_zygotes: bool = True) -> tuple[float, float]:
    grader = Grader(hw)
    if not lent_zygotes:   # the baseline: each submission's grading process starts its own zygote
        grader.zygotes = None
    try:
        started = time.perf_counter()
        results = grader.grade_all(find_submissions([folder], hw), jobs=jobs, progress=True)
        elapsed = time.perf_counter() - started
    finally:
        grader.close()
    return elapsed, sum(r.score for r in results)


def compare(hw: str, count: int, baseline: tuple[str, dict], candidate: tuple[str, dict], heading: str) -> None:
    """Grade the same ``count`` submissions twice (``timed_batch`` keywords of each run) and print both
    times and the ratio baseline / candidate."""
    folder = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        make_submissions(hw, count, folder)
        (first, score_first), (second, score_second) = (timed_batch(hw, folder, **kw) for _, kw in (baseline, candidate))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert score_first == score_second, "the same submissions got different totals"
    width = max(len(baseline[0]), len(candidate[0])) + 1
    print(heading)
    for label, seconds in ((baseline[0], first), (candidate[0], second)):
        print(f"  {label + ':':{width}s} {seconds:7.1f} s  ({seconds / count:.2f} s per submission)")
    print(f"  speed-up ({baseline[0]} / {candidate[0]}): {first / second:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--hw", default="hw_example")
    parser.add_argument("--zygotes", action="store_true", help="lent zygotes against one zygote per submission")
    args = parser.parse_args()
    if args.zygotes:
        compare(args.hw, args.count, ("a zygote per submission", dict(jobs=1, lent_zygotes=False)),
                ("lent zygotes", dict(jobs=1)), f"{args.count} submissions of {args.hw}, --jobs 1")
    else:
        compare(args.hw, args.count, ("--jobs 1", dict(jobs=1)), ("--jobs 2", dict(jobs=2)),
                f"{args.count} submissions of {args.hw}")


if __name__ == "__main__":
    main()
