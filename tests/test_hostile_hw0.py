"""hw0's hidden graders give hostile submissions exactly the points their honest part earns.

Each file in tests/hostile/hw0/ is in the variant format (applied to the reference; a cell written in
full replaces the released stub's cell outright) with two more docstring lines: ``grade:`` the hidden
tests to run and ``score:`` the exact total it must get on them. They cover a closed-form rule and a
patched training loop for the training test, degenerate answers (zeros, always raising, a constant)
for the property tests, and the kit's former gradient helpers used as the answer.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metakit.grading.variants import CELL_MARK, apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, results

HOSTILE = sorted((REPO_ROOT / "tests" / "hostile" / "hw0").glob("*.py"))


def expectation(path: Path) -> tuple[list[str], float]:
    """(the hidden tests to grade, the exact score) from the file's ``grade:`` and ``score:`` lines."""
    doc = ast.get_docstring(ast.parse(CELL_MARK.split(path.read_text())[0])) or ""
    fields = {line.split(":", 1)[0].strip(): line.split(":", 1)[1] for line in doc.splitlines() if ":" in line}
    tests = [t.strip() for t in fields["grade"].replace(",", " ").split() if t.strip()]
    return tests, float(fields["score"])


def test_hostile_files_say_what_they_deserve() -> None:
    assert len(HOSTILE) >= 4
    for path in HOSTILE:
        tests, score = expectation(path)
        assert tests and score >= 0, path.name
        assert set(load_variant(path).catches) <= set(tests), f"{path.name}: every caught test must be graded"


@pytest.mark.slow
def test_hostile_submissions_get_exactly_their_honest_points(tmp_path: Path) -> None:
    reference = REPO_ROOT / "solutions" / "hw0" / "hw0.ipynb"
    groups: dict[tuple[str, ...], list[Path]] = {}
    for path in HOSTILE:
        groups.setdefault(tuple(sorted(expectation(path)[0])), []).append(path)
    problems = []
    for number, (tests, members) in enumerate(groups.items()):
        folder = tmp_path / f"group{number}"
        folder.mkdir()
        for path in members:
            apply_variant(reference, load_variant(path), folder / f"hostile-{path.stem}.ipynb")
        out = tmp_path / f"out{number}"
        grade_cli("hw0", [folder], out, extra=["--tests", ",".join(tests)])
        for path in members:
            graded = results(out, f"hostile-{path.stem}")
            _, score = expectation(path)
            passed = [name for name, t in by_test_name(graded).items() if t["score"] > 0]
            caught = load_variant(path).catches
            if graded["score"] != score or set(passed) & set(caught):
                problems.append(f"{path.stem}: scored {graded['score']} (expected exactly {score}); tests with points: "
                                f"{passed}; must fail: {caught}")
    assert not problems, "\n".join(problems)
