"""Grade a batch of submissions: intake, run the hidden graders per submission, collect records.

Each submission is graded by its own pytest process (trusted: it never imports student code) that
starts one sandboxed worker per hidden test, forked by a zygote the runner lends it
(:mod:`metakit.grading.zygotes`: one per submission graded at a time, reset between submissions). Submissions run ``jobs`` at a time; one that breaks
anything, the grader included, gets its messages and zeros, and the others go on.

Before any student is graded, a probe worker is started the way every test's worker will be and
must return a known answer (:func:`~metakit.grading.isolation.choose_isolation`); when no isolation
works, nothing is graded. A test that fails on the grading side is a grader error: the student is
told so, and ``SubmissionResult.grader_errors`` lists it for the instructor and the exit code.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from metakit.grading.assignment import AssignmentConfig, load_config, prepare_shared
from metakit.grading.errors import GRADER_ERROR_MESSAGE
from metakit.grading.intake import intake, read_notebook
from metakit.grading.late import TIMESTAMP_FILE
from metakit.grading.records import SubmissionResult, TestRecord, TestSpec
from metakit.grading.sandbox import SandboxConfig, choose_isolation, describe_isolation
from metakit.grading.zygotes import ZygotePool
from metakit.paths import REPO_ROOT

PYTEST_INI = "[pytest]\naddopts =\npython_files = test_*.py\n"


@dataclass
class Kit:
    """Where an assignment's release template and hidden graders are."""

    root: Path = REPO_ROOT

    def template(self, hw: str) -> Path:
        return self.root / "assignments" / hw / f"{hw}.ipynb"

    def graders(self, hw: str) -> Path:
        return self.root / "autograder" / hw

    def private_paths(self) -> list[Path]:
        """What no worker may see: graders, solutions, the kit's tests and its git history."""
        return [self.root / name for name in ("autograder", "solutions", "tests", ".git", "benchmarks")]

    def config(self, hw: str) -> AssignmentConfig:
        return load_config(hw, self.root)

    def check(self, hw: str) -> None:
        for path, what in ((self.template(hw), "released notebook (run `python -m metakit release`)"),
                           (self.graders(hw), "hidden graders")):
            if not path.exists():
                raise FileNotFoundError(f"no {what} for {hw}: {path} does not exist")


@dataclass
class Submission:
    student: str
    notebook: Path | None
    problem: str | None = None
    timestamp_file: Path | None = None  # nbgrader's timestamp.txt for this submission, where it would be
    nbgrader_layout: bool = False  # from submitted/<student>/<hw>/, where timestamp.txt is expected


# --------------------------------------------------------------------------- finding submissions
def find_submissions(paths: list[Path], hw: str) -> list[Submission]:
    """Notebooks, folders of them, nbgrader's ``submitted/<student>/<hw>/`` or a Gradescope folder."""
    found: list[Submission] = []
    for path in map(Path, paths):
        if path.is_file():
            found.append(Submission(path.stem, path))
        elif (path / "submitted").is_dir() or path.name == "submitted":
            root = path if path.name == "submitted" else path / "submitted"
            for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
                submission = _one_notebook(student_dir.name, student_dir / hw, hw)
                submission.timestamp_file, submission.nbgrader_layout = student_dir / hw / TIMESTAMP_FILE, True
                found.append(submission)
        elif path.is_dir() and sorted(path.glob("*.ipynb")):
            found += [Submission(nb.stem, nb) for nb in sorted(path.glob("*.ipynb"))]
        elif path.is_dir():
            subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
            for folder in subdirs:
                submission = _one_notebook(folder.name, folder, hw)
                submission.timestamp_file = folder / TIMESTAMP_FILE
                found.append(submission)
        else:
            found.append(Submission(path.stem or str(path), None, f"{path} does not exist"))
    return found


def _one_notebook(student: str, folder: Path, hw: str) -> Submission:
    notebooks = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts) \
        if folder.is_dir() else []
    if not notebooks:
        return Submission(student, None, f"no notebook (.ipynb) found in {folder}")
    preferred = [nb for nb in notebooks if nb.stem == hw]
    return Submission(student, (preferred or notebooks)[0])


def gradescope_submission(folder: Path, hw: str) -> Submission:
    return _one_notebook("submission", folder, hw)


# --------------------------------------------------------------------------- grading
class Grader:
    """Grades submissions of one assignment; ``jobs`` submissions at a time."""

    def __init__(self, hw: str, kit: Kit | None = None, isolation: str = "auto",
                 extra_hidden: list[Path] | None = None, only: list[str] | None = None,
                 report=None, workers: str = "fork") -> None:
        self.hw, self.kit = hw, kit or Kit()
        self.kit.check(hw)
        self.config = self.kit.config(hw)
        self.template = read_notebook(self.kit.template(hw))
        self.isolation = isolation
        self.work = Path(tempfile.mkdtemp(prefix=f"metakit-grade-{hw}-"))
        os.chmod(self.work, 0o700)
        self.tests_dir = self.work / "graders"
        shutil.copytree(self.kit.graders(hw), self.tests_dir,
                        ignore=shutil.ignore_patterns("__pycache__", "variants"))
        (self.tests_dir / "pytest.ini").write_text(PYTEST_INI)
        self.hidden = [*self.kit.private_paths(), self.work, *(extra_hidden or [])]
        self.workers = workers
        self.zygotes: ZygotePool | None = None
        self._serial = itertools.count()
        self.preload = self.config.preload
        try:
            self.shared = {name: str(folder) for name, folder in prepare_shared(self.config).items()}
            self.data = [*self.config.data_paths(self.kit.root), *map(Path, self.shared.values())]
            self.sandbox = SandboxConfig(hidden_paths=self.hidden, data_paths=self.data, isolation=isolation,
                                         workers=workers, preload=self.preload, env=self.shared)
            self.mode = choose_isolation(self.sandbox, report=report)
            self.zygotes = ZygotePool(self.sandbox, self.mode) if workers == "fork" else None
        except Exception:
            self.close()
            raise
        self.every_test = self._collect()
        self.collected = self.select(self.every_test, only)

    def select(self, collected: list[TestSpec], only: list[str] | None) -> list[TestSpec]:
        """The collected tests named in ``only`` (all when None), in collection order; unknown names
        raise a ValueError."""
        if not only:
            return collected
        unknown = sorted(set(only) - {t.name for t in collected})
        if unknown:
            raise ValueError(f"no hidden test of {self.hw} is called {', '.join(unknown)}")
        return [t for t in collected if t.name in only]

    def _targets(self, tests: list[TestSpec]) -> list[str]:
        """pytest's arguments for ``tests``, which run in this order: the folder when they are every
        test in collection order, else their node ids."""
        if [t.name for t in tests] == [t.name for t in self.every_test]:
            return [str(self.tests_dir)]
        return [f"{self.tests_dir / t.file}::{t.name}" for t in tests]

    def close(self) -> None:
        if self.zygotes is not None:
            self.zygotes.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def _pytest(self, extra: list[str], timeout: float, targets: list[str] | None = None,
                pass_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pytest", *(targets or [str(self.tests_dir)]), "-c", str(self.tests_dir / "pytest.ini"),
                   "--rootdir", str(self.tests_dir), "-p", "metakit.grading.plugin", "-p", "no:cacheprovider",
                   "--assert=plain", "-q", "--tb=no", "-W", "ignore", *extra]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(self.kit.root), os.environ.get("PYTHONPATH", "")]),
               "PYTHONDONTWRITEBYTECODE": "1", "METAKIT_DEVICE": "cpu",  # graders run on the CPU
               **self.shared}  # the graders read the [shared] folders the workers see
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.work,
                              pass_fds=pass_fds)

    def _collect(self) -> list[TestSpec]:
        results = self.work / "collected.json"
        run = self._pytest(["--collect-only", "--metakit-results", str(results)], timeout=300)
        if not results.exists():
            raise RuntimeError(f"could not collect the hidden graders of {self.hw}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        collected = [TestSpec.from_dict(spec) for spec in json.loads(results.read_text())["collected"]]
        ungraded = [t.name for t in collected if not t.graded]
        if ungraded:
            raise RuntimeError(f"hidden tests without @graded in {self.hw}: {', '.join(ungraded)}")
        return collected

    def describe_isolation(self) -> str:
        return describe_isolation(self.mode)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.collected)

    def grade(self, submission: Submission, only: list[str] | None = None, first_failure: bool = False) -> SubmissionResult:
        """Grade one submission on the grader's tests, or on those of them named in ``only`` (a
        regrade of some questions; the grader's probe and collection are not repeated).

        ``first_failure``: stop at the first test that does not give full points, in collection
        order, or in the order of ``only`` when it is given (pytest's ``-x``); the tests after it are
        not graded and have no record. For mutation testing, where one failing test is the verdict;
        never for a student's grade."""
        started = time.monotonic()
        tests = self.select(self.collected, only)
        if first_failure and only:
            tests.sort(key=lambda t: only.index(t.name))   # the likeliest to fail first: see metakit.grading.validity.probes
        try:
            graded = self._grade(submission, tests, first_failure)
        except Exception as exc:  # noqa: BLE001 - one broken submission never stops the batch
            graded = self._zeros(submission.student, GRADER_ERROR_MESSAGE, tests, grader_error=True)
            graded.instructor_log += f"\ngrader error: {type(exc).__name__}: {exc}"
        graded.seconds = round(time.monotonic() - started, 2)
        return graded

    def _grade(self, submission: Submission, tests: list[TestSpec], first_failure: bool = False) -> SubmissionResult:
        if submission.notebook is None:
            return self._zeros(submission.student, submission.problem or "no notebook submitted", tests)
        folder = self.work / f"submission-{next(self._serial):05d}"  # never reused: no stale results.json
        result = intake(self.template, submission.notebook)
        result.write(folder)
        if result.fatal:
            shutil.rmtree(folder, ignore_errors=True)
            graded = self._zeros(submission.student, result.fatal, tests)
            graded.notes = result.notes
            return graded
        results_path = folder / "results.json"
        budget = sum(t.timeout for t in tests) * 1.5 + 120
        hide = [arg for path in self.hidden for arg in ("--metakit-hide", str(path))]
        data = [arg for path in self.data for arg in ("--metakit-data", str(path))]
        preload = [arg for entry in self.preload for arg in ("--metakit-preload", entry)]
        preload += [arg for name, folder in self.shared.items() for arg in ("--metakit-env", f"{name}={folder}")]
        with self._zygote() as zygote:
            lent = ["--metakit-zygote-fd", str(zygote.fd), "--metakit-zygote-log", str(zygote.log_path)] if zygote else []
            try:
                run = self._pytest(["--metakit-submission", str(folder), "--metakit-results", str(results_path),
                                    "--metakit-isolation", self.mode, "--metakit-workers", self.workers, *lent,
                                    *hide, *data, *preload, *(["-x"] if first_failure else [])], timeout=budget,
                                   targets=self._targets(tests), pass_fds=(zygote.fd,) if zygote else ())
                log = run.stdout[-6000:] + run.stderr[-6000:]
            except subprocess.TimeoutExpired:
                log = f"grader error: the grading run took more than {budget:.0f} s and was stopped"
        records = [TestRecord.from_dict(record) for record in json.loads(results_path.read_text())["tests"]] \
            if results_path.exists() else []
        shutil.rmtree(folder, ignore_errors=True)
        return SubmissionResult(submission.student, self._complete(records, log, tests, first_failure), notes=result.notes,
                      instructor_log=log)

    def _zygote(self):
        """The zygote lent to one submission's grading process (None for fresh workers)."""
        return self.zygotes.lend() if self.zygotes is not None else contextlib.nullcontext(None)

    def _complete(self, records: list[TestRecord], log: str, tests: list[TestSpec],
                  first_failure: bool = False) -> list[TestRecord]:
        """One record per test graded, in collection order; a test with no record gets zero (with
        ``first_failure``, the tests after the first failed one are left out instead)."""
        by_name = {r.name: r for r in records}
        complete: list[TestRecord] = []
        for spec in tests:
            if first_failure and complete and not complete[-1].passed:
                break
            record = by_name.get(spec.name)
            if record is None:
                record = TestRecord.zero(spec, GRADER_ERROR_MESSAGE, grader_error=True,
                                         details="grader error: this test did not run to the end (the grading "
                                                 "run was stopped)\n" + log[-2000:])
            complete.append(record)
        return complete

    def _zeros(self, student: str, message: str, tests: list[TestSpec], grader_error: bool = False) -> SubmissionResult:
        return SubmissionResult(student, [TestRecord.zero(spec, message, grader_error) for spec in tests], fatal=message)

    def grade_all(self, submissions: list[Submission], jobs: int = 1, progress: bool = True,
                  only: list[list[str] | None] | None = None, first_failure: bool = False) -> list[SubmissionResult]:
        """Grade ``jobs`` submissions at a time; ``only[i]`` (when given) names the tests of submission i;
        ``first_failure`` as in :meth:`grade`."""
        selections = only if only is not None else [None] * len(submissions)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(self.grade, sub, tests, first_failure) for sub, tests in zip(submissions, selections)]
            bar = tqdm(total=len(futures), desc=f"grading {self.hw}", unit="submission", disable=not progress)
            results = []
            for future in futures:
                results.append(future.result())
                bar.update(1)
            bar.close()
        return results
