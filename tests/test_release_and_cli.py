"""Release with real nbgrader, the committed release is fresh, and the instructor/student CLI."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from metakit.grading.release import assignments, generate_release
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results


def run_cli(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metakit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


@pytest.mark.parametrize("hw", assignments())
def test_committed_release_is_fresh(hw: str, tmp_path: Path) -> None:
    fresh = generate_release(hw, tmp_path)
    committed = REPO_ROOT / "assignments" / hw
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files, f"run `python -m metakit release {hw}` and commit assignments/{hw}"
    for rel in fresh_files:
        assert (fresh / rel).read_bytes() == (committed / rel).read_bytes(), (
            f"assignments/{hw}/{rel} is stale: run `python -m metakit release {hw}` and commit it")


@pytest.mark.parametrize("hw", assignments())
def test_release_has_no_solutions_and_no_outputs(hw: str) -> None:
    notebook = json.loads((REPO_ROOT / "assignments" / hw / f"{hw}.ipynb").read_text())
    text = json.dumps(notebook)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert all(not c.get("outputs") for c in notebook["cells"] if c["cell_type"] == "code")
    solution_cells = [c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert solution_cells, "no solution cells"
    assert all("YOUR CODE HERE" in "".join(c["source"]) or "YOUR ANSWER HERE" in "".join(c["source"])
               for c in solution_cells)


def test_check_passes_on_reference_and_fails_on_release() -> None:
    good = run_cli("check", str(REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "3 / 3 public checks passed" in good.stdout
    bad = run_cli("check", str(REPO_ROOT / "assignments" / "hw_example" / "hw_example.ipynb"))
    assert bad.returncode == 1 and "[FAIL] check_softmax" in bad.stdout and "NotImplementedError" in bad.stdout


def test_check_reports_a_broken_notebook(tmp_path: Path) -> None:
    broken = tmp_path / "hw_example.ipynb"
    broken.write_text("{\"cells\": [")
    run = run_cli("check", str(broken), "--hw", "hw_example")
    assert run.returncode == 1 and "not valid JSON" in run.stdout


def test_grade_nbgrader_submitted_layout(tmp_path: Path) -> None:
    course = tmp_path / "course"
    for student, source in (("alice", "solutions"), ("bob", "assignments")):
        target = course / "submitted" / student / "hw_example"
        target.mkdir(parents=True)
        shutil.copy(REPO_ROOT / source / "hw_example" / "hw_example.ipynb", target / "hw_example.ipynb")
    (course / "submitted" / "carol" / "hw_example").mkdir(parents=True)
    out = tmp_path / "out"
    run = grade_cli("hw_example", [course], out, jobs=2)
    assert results(out, "alice")["score"] == 8 and results(out, "bob")["score"] == 0
    assert "no notebook" in results(out, "carol")["output"]
    assert "alice" in run.stdout and "8 / 8" in run.stdout
    assert (out / "feedback" / "alice.html").read_text().startswith("<!doctype html>")


def test_gradescope_zip_and_run_autograder(tmp_path: Path) -> None:
    zip_path = tmp_path / "autograder.zip"
    run = run_cli("gradescope", "hw_example", "--out", str(zip_path))
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert {"setup.sh", "run_autograder", "kit/pyproject.toml",
                "kit/autograder/hw_example/test_example.py", "kit/assignments/hw_example/hw_example.ipynb"} <= names
        assert not any(n.startswith("kit/solutions") for n in names), "solutions must not ship"
        assert (archive.getinfo("run_autograder").external_attr >> 16) & 0o111
        root = tmp_path / "autograder"
        (root / "source").mkdir(parents=True)
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    shutil.copy(REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb", root / "submission" / "mine.ipynb")
    env = {"METAKIT_GRADESCOPE_ROOT": str(root), "METAKIT_PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                         env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 8 and len(result["tests"]) == 6
    assert all(t["visibility"] == "visible" and "execution_time" in t for t in result["tests"])


def test_grade_only_some_tests(tmp_path: Path) -> None:
    out = tmp_path / "out"
    grade_cli("hw_example", [REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"], out, jobs=1,
              extra=["--tests", "test_accuracy,test_softmax_values"])
    result = results(out, "hw_example")
    assert result["max_score"] == 3 and result["score"] == 3 and len(result["tests"]) == 2
    run = run_cli("grade", "hw_example", str(REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"),
                  "--out", str(tmp_path / "o2"), "--tests", "test_nothing")
    assert run.returncode != 0 and "no hidden test of hw_example is called test_nothing" in run.stderr
