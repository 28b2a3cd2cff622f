"""hw0's hidden graders accept correct work written differently: every alternative implementation in
tests/alternatives/hw0/ (same documented behaviour, other code) gets full marks through the real CLI on
every hidden test of the cells it replaces (the reference's full marks are test_validity's job)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results

ALTERNATIVES = sorted((REPO_ROOT / "tests" / "alternatives" / "hw0").glob("*.py"))
GRADERS = REPO_ROOT / "autograder" / "hw0"
# the hidden test files that exercise each solution cell (the training run uses model, sampler and loss)
FILES = {"model": ["test_model.py", "test_training.py"], "sampler": ["test_sampler.py", "test_training.py"],
         "loss": ["test_loss.py", "test_training.py"], "cosine": ["test_cosine.py"]}


def graded_tests_for(cells) -> list[str]:
    names = set()
    for cell in cells:
        for file in FILES[cell]:
            names |= set(re.findall(r"^def (test_\w+)\(student", (GRADERS / file).read_text(), re.MULTILINE))
    return sorted(names)


def test_there_are_alternatives() -> None:
    assert len(ALTERNATIVES) >= 3
    for path in ALTERNATIVES:
        assert load_variant(path).catches == ["none"], f"{path.name}: an alternative catches nothing ('catches: none')"


@pytest.mark.slow
def test_alternatives_get_full_marks(tmp_path: Path) -> None:
    reference = REPO_ROOT / "solutions" / "hw0" / "hw0.ipynb"
    problems = []
    for number, path in enumerate(ALTERNATIVES):
        alternative = load_variant(path)
        tests = graded_tests_for(alternative.cells)
        folder = tmp_path / f"alt{number}"
        folder.mkdir()
        apply_variant(reference, alternative, folder / f"alt-{path.stem}.ipynb")
        out = tmp_path / f"out{number}"
        grade_cli("hw0", [folder], out, extra=["--tests", ",".join(tests)])
        graded = results(out, f"alt-{path.stem}")
        student = path.stem
        if len(graded["tests"]) != len(tests):
            problems.append(f"{student}: graded {len(graded['tests'])} tests, expected {len(tests)}")
        if graded["score"] != graded["max_score"]:
            failed = [f"{t['name']}: {t['output'][:400]}" for t in graded["tests"] if t["score"] < t["max_score"]]
            problems.append(f"{student}: {graded['score']}/{graded['max_score']}\n  " + "\n  ".join(failed))
    assert not problems, "\n".join(problems)
