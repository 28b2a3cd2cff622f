"""hw1's hidden graders give hostile submissions (tests/hostile/hw1/) exactly the score they deserve:
0 for a stub plus an attack, the honest part's points otherwise. The attacks: a fixed rule or a
training loop that does not train in place of learning, degenerate answers (constants, noise, None)
aimed at property tests, and kit helpers used as the answer. All graded in one run of the real CLI."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metakit.grading.variants import CELL_MARK, Variant, apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, results

HOSTILE = sorted((REPO_ROOT / "tests" / "hostile" / "hw1").glob("*.py"))
BASES = {"reference": REPO_ROOT / "solutions" / "hw1" / "hw1.ipynb",
         "release": REPO_ROOT / "assignments" / "hw1" / "hw1.ipynb"}


def expectation(path: Path) -> tuple[Variant, str, float]:
    """(the variant, its base notebook, the exact score it must get) from the file's docstring."""
    doc = ast.get_docstring(ast.parse(CELL_MARK.split(path.read_text())[0])) or ""
    fields = dict(line.strip().split(":", 1) for line in doc.splitlines() if line.strip().startswith(("base:", "score:")))
    base, score = fields.get("base", "").strip(), fields.get("score", "").strip()
    assert base in BASES, f"{path.name}: 'base: reference' or 'base: release' missing"
    assert score, f"{path.name}: 'score: X' missing"
    return load_variant(path), base, float(score)


def test_hostile_files_are_well_formed() -> None:
    assert len(HOSTILE) >= 5
    for path in HOSTILE:
        variant, base, score = expectation(path)
        assert variant.catches and score >= 0


@pytest.mark.slow
def test_hostile_submissions_get_exactly_their_score(tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    expected = {}
    for path in HOSTILE:
        variant, base, score = expectation(path)
        apply_variant(BASES[base], variant, folder / f"hostile-{variant.name}.ipynb")
        expected[variant.name] = (variant, score)
    out = tmp_path / "out"
    grade_cli("hw1", [folder], out)
    problems = []
    for name, (variant, score) in expected.items():
        graded = results(out, f"hostile-{name}")
        tests = by_test_name(graded)
        passed = [t for t in variant.catches if tests.get(t, {}).get("status") == "passed"]
        if graded["score"] != score or passed:
            problems.append(f"{name}: scored {graded['score']}/{graded['max_score']}, deserves exactly {score}; "
                            f"tests that should have failed but passed: {passed}")
    assert not problems, "\n".join(problems)
