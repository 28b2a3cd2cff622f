"""Grading a batch of notebooks as ``python -m metakit grade`` does: through the CLI
(:class:`CliGrader`) or its engine in this process (:class:`EngineGrader`), read back as
:class:`CaseResult` per test."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from metakit.grading.mutation import write_notebook
from metakit.paths import REPO_ROOT


@dataclass
class CaseResult:
    passed: bool
    message: str
    title: str
    seconds: float = 0.0


Results = dict[str, dict[str, CaseResult]]          # student -> test name -> result
GradeFn = Callable[[dict[str, dict], "list[str] | None"], Results]


def parse_gradescope(entry: dict) -> dict[str, CaseResult]:
    """The per-test results of one Gradescope ``results.json``, keyed by test function name."""
    tests = {}
    for t in entry["tests"]:
        title, _, name = t["name"].rpartition(" (")
        tests[name.rstrip(")")] = CaseResult(t["status"] == "passed", t.get("output", ""), title,
                                             float(t.get("execution_time", 0.0)))
    return tests


class CliGrader:
    """Grades batches of notebooks with ``python -m metakit grade`` and reads the reports."""

    def __init__(self, hw: str, work: Path, jobs: int = 1, isolation: str = "auto",
                 root: Path = REPO_ROOT) -> None:
        self.hw, self.work, self.jobs, self.isolation, self.root = hw, work, jobs, isolation, root
        self.calls = 0

    def __call__(self, notebooks: dict[str, dict], tests: list[str] | None) -> Results:
        self.calls += 1
        batch = self.work / f"batch{self.calls:03d}"
        folder, out = batch / "submissions", batch / "out"
        for name, notebook in notebooks.items():
            write_notebook(notebook, folder / f"{name}.ipynb")
        command = [sys.executable, "-m", "metakit", "grade", self.hw, str(folder), "--out", str(out),
                   "--jobs", str(self.jobs), "--no-progress", "--isolation", self.isolation]
        if tests:
            command += ["--tests", ",".join(tests)]
        run = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if run.returncode != 0:  # once more: a busy or briefly broken machine is not a verdict
            time.sleep(10)
            shutil.rmtree(out, ignore_errors=True)
            run = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if run.returncode != 0:
            raise RuntimeError(f"metakit grade {self.hw} failed (exit {run.returncode}):\n"
                               f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        results = {name: parse_gradescope(json.loads((out / "gradescope" / f"{name}.json").read_text()))
                   for name in notebooks}
        shutil.rmtree(batch, ignore_errors=True)
        return results


class EngineGrader:
    """Grades batches of notebooks with the engine ``python -m metakit grade`` runs
    (:class:`~metakit.grading.runner.Grader`: the same intake, sandbox, limits and messages), one
    grader for the whole run, so its isolation probe and test collection are paid once, not once a
    call; it can grade each mutant until its first failing test in one go (pytest's ``-x``)."""

    def __init__(self, hw: str, work: Path, jobs: int = 1, isolation: str = "auto", root: Path = REPO_ROOT,
                 progress: bool = True) -> None:
        from metakit.grading.runner import Grader, Kit

        self.work, self.jobs, self.progress = work, jobs, progress
        self.grader = Grader(hw, Kit(root), isolation=isolation)
        self.calls = 0

    def __call__(self, notebooks: dict[str, dict], tests: list[str] | None) -> Results:
        return self._grade({name: (notebook, tests) for name, notebook in notebooks.items()}, first_failure=False)

    def first_failures(self, batch: dict[str, tuple[dict, list[str]]]) -> Results:
        """Each notebook on its own tests, in collection order, up to and including the first that
        fails; the tests after it are not graded and not in the results."""
        return self._grade(batch, first_failure=True)

    def _grade(self, batch: dict[str, tuple[dict, "list[str] | None"]], first_failure: bool) -> Results:
        from metakit.grading.report import gradescope_results
        from metakit.grading.runner import Submission

        self.calls += 1
        folder = self.work / f"batch{self.calls:03d}"
        for name, (notebook, _) in batch.items():
            write_notebook(notebook, folder / f"{name}.ipynb")
        graded = self.grader.grade_all([Submission(name, folder / f"{name}.ipynb") for name in batch],
                                       jobs=self.jobs, progress=self.progress and len(batch) > 1,
                                       only=[tests for _, tests in batch.values()], first_failure=first_failure)
        shutil.rmtree(folder, ignore_errors=True)
        return {g.student: parse_gradescope(gradescope_results(g)) for g in graded}

    def close(self) -> None:
        self.grader.close()
