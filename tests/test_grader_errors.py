"""Failures on the grading side are grader errors, never a student's fault.

* The interpreter unreachable from the sandbox (its prefix hidden): the probe refuses that
  isolation before any student is graded; asked for explicitly, ``grade`` stops with exit 3 and
  the cause on stderr, and writes no reports; with ``auto`` it says why and grades in the next mode.
* A hidden test that fails on the grading side (a data file missing) or whose worker cannot start
  (a memory limit below the minimum a worker needs): that test is a grader error, the student reads
  that it is not their fault, the other tests are graded as usual, and ``grade`` exits 3.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from metakit.grading.sandbox import namespaces_available
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name

import pytest

REFERENCE = REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"

BROKEN_TESTS = '''
from metakit.grading import check, graded


@graded(points=1, timeout=20)
def test_reads_a_missing_data_file(student):
    """A grader bug: its data file is missing."""
    open("/nonexistent/metakit-data.csv").read()


@graded(points=1, timeout=20, memory_mb=40)
def test_worker_cannot_start(student):
    """A limit too small for any worker."""
    check(student.call("accuracy", [[1.0, 0.0]], [0]) == 1.0, "accuracy")
'''


def run_grade(*args: str, kit_root: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "metakit", "grade", "hw_example", *args, "--no-progress"]
    if kit_root is not None:
        command += ["--kit-root", str(kit_root)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=1200)


def test_unreachable_interpreter_stops_the_batch_at_the_probe(tmp_path: Path) -> None:
    if not namespaces_available():
        pytest.skip("needs namespace isolation (Linux, util-linux, root or unprivileged user namespaces)")
    out = tmp_path / "out"
    run = run_grade(str(REFERENCE), "--out", str(out), "--isolation", "namespaces", "--hide", sys.prefix,
                    "--hide", sys.base_prefix, "--tests", "test_accuracy")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "grader error" in run.stderr and "namespaces isolation refused" in run.stderr, run.stderr
    assert not (out / "gradescope").exists(), "no student may be graded when the probe fails"

    auto = run_grade(str(REFERENCE), "--out", str(tmp_path / "auto"), "--hide", sys.prefix, "--hide",
                     sys.base_prefix, "--tests", "test_accuracy")
    assert auto.returncode == 0, auto.stdout + auto.stderr
    assert "namespaces isolation refused" in auto.stderr and "isolation: process" in auto.stderr
    result = json.loads((tmp_path / "auto" / "gradescope" / "hw_example.json").read_text())
    assert result["score"] == result["max_score"] == 1


def test_grader_side_failures_are_grader_errors(tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    for folder in ("assignments/hw_example", "autograder/hw_example"):
        shutil.copytree(REPO_ROOT / folder, kit / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (kit / "autograder" / "hw_example" / "test_broken.py").write_text(BROKEN_TESTS)
    out = tmp_path / "out"
    run = run_grade(str(REFERENCE), "--out", str(out), "--tests",
                    "test_accuracy,test_reads_a_missing_data_file,test_worker_cannot_start", kit_root=kit)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "2 test(s) failed on the grading side" in run.stderr, run.stderr
    assert "metakit-data.csv" in run.stderr and "the worker could not start" in run.stderr, run.stderr

    tests = by_test_name(json.loads((out / "gradescope" / "hw_example.json").read_text()))
    assert tests["test_accuracy"]["status"] == "passed", "the other tests are graded as usual"
    for name in ("test_reads_a_missing_data_file", "test_worker_cannot_start"):
        assert tests[name]["score"] == 0 and "grader error" in tests[name].get("tags", [])
        assert "not in your code" in tests[name]["output"], tests[name]["output"]
        assert "Check the types" not in tests[name]["output"]
    feedback = (out / "feedback" / "hw_example.md").read_text()
    assert "grading error, not your fault" in feedback
    assert "/nonexistent" not in feedback, "the instructor's cause does not reach the student"
    csv_row = (out / "grades.csv").read_text().splitlines()[1]
    assert csv_row.endswith("test_reads_a_missing_data_file test_worker_cannot_start")
    log = (out / "instructor.log").read_text()
    assert "[GRADER ERROR] test_reads_a_missing_data_file" in log and "FileNotFoundError" in log
