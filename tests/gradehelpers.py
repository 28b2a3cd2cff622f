"""Grade notebooks through the real CLI (``python -m metakit grade``) and read the reports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from metakit.paths import REPO_ROOT


def grade_cli(hw: str, submissions: list[Path], out: Path, jobs: int = 2, extra: list[str] | None = None,
              timeout: float = 3600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "metakit", "grade", hw, *map(str, submissions), "--out", str(out),
               "--jobs", str(jobs), "--no-progress", *(extra or [])]
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)
    assert run.returncode == 0, f"metakit grade failed:\n{run.stdout}\n{run.stderr}"
    return run


def results(out: Path, student: str) -> dict:
    """The Gradescope results.json written for ``student``."""
    return json.loads((out / "gradescope" / f"{student}.json").read_text())


def by_test_name(result: dict) -> dict[str, dict]:
    """Per-test entries keyed by the test function's name."""
    return {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in result["tests"]}


def grade_each(hw: str, submissions: list[tuple[Path, list[str] | None]], jobs: int = 2) -> dict[str, dict]:
    """Grade each notebook on its own tests (None: all) with one :class:`~metakit.grading.runner.Grader`
    (the engine ``python -m metakit grade`` runs: one probe, one collection, then a submission at a
    time as ``grade --tests`` would); Gradescope's results.json of each, keyed by the file's stem.

    This is how the slow suite grades dozens of variants, each on the tests it names, without paying
    the CLI's start-up, probe and collection once per group."""
    from metakit.grading.report import gradescope_results
    from metakit.grading.runner import Grader, Submission

    grader = Grader(hw)
    try:
        graded = grader.grade_all([Submission(path.stem, path) for path, _ in submissions], jobs=jobs,
                                  progress=False, only=[tests for _, tests in submissions])
    finally:
        grader.close()
    return {g.student: gradescope_results(g) for g in graded}
