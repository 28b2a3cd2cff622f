"""hw2: correct alternative implementations (tests/alternatives/hw2/) get full marks from the hidden
graders, graded through the real CLI. Different code, same documented behaviour: a grader that fails
one of them is stricter than its docstring."""
from __future__ import annotations

from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results

ALTERNATIVES = sorted((REPO_ROOT / "tests" / "alternatives" / "hw2").glob("*.py"))
SOLUTION = REPO_ROOT / "solutions" / "hw2" / "hw2.ipynb"
# The MAML training run is the slowest test (~20 s a submission on 2 cores): one alternative runs it,
# the others every other test (their MAML code differs from the reference in form only).
MAML_TRAINING = "test_maml_training_learns"


def _all_tests() -> list[str]:
    names = []
    for path in sorted((REPO_ROOT / "autograder" / "hw2").glob("test_*.py")):
        names += [line.split("(")[0][4:] for line in path.read_text().splitlines() if line.startswith("def test_")]
    return names


def test_there_are_alternatives() -> None:
    assert len(ALTERNATIVES) >= 3
    for path in ALTERNATIVES:
        assert load_variant(path).catches == ["none"], f"{path.name}: an alternative catches nothing ('catches: none')"


@pytest.mark.slow
def test_alternatives_get_full_marks(tmp_path: Path) -> None:
    folder = tmp_path / "alternatives"
    for path in ALTERNATIVES:
        apply_variant(SOLUTION, load_variant(path), folder / f"{path.stem}.ipynb")
    tests = _all_tests()
    assert MAML_TRAINING in tests and len(tests) > 20
    grade_cli("hw2", [folder], tmp_path / "out", extra=["--tests", ",".join(t for t in tests if t != MAML_TRAINING)])
    first = folder / f"{ALTERNATIVES[0].stem}.ipynb"
    grade_cli("hw2", [first], tmp_path / "out_training", extra=["--tests", MAML_TRAINING])
    problems = []
    for out, names in ((tmp_path / "out", [p.stem for p in ALTERNATIVES]), (tmp_path / "out_training", [first.stem])):
        for name in names:
            graded = results(out, name)
            if graded["score"] != graded["max_score"]:
                failed = [f"{t['name']}: {t.get('output', '')[:300]}" for t in graded["tests"] if t["status"] != "passed"]
                problems.append(f"{name}: {graded['score']}/{graded['max_score']}\n  " + "\n  ".join(failed))
    assert not problems, "\n".join(problems)
