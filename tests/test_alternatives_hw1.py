"""hw1's hidden graders accept correct work written differently: every alternative implementation in
tests/alternatives/hw1/ (same documented behaviour, different code) gets full marks, graded in one
run of the real CLI (slow: it includes the training test)."""
from __future__ import annotations

from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results

ALTERNATIVES = sorted((REPO_ROOT / "tests" / "alternatives" / "hw1").glob("*.py"))
REFERENCE = REPO_ROOT / "solutions" / "hw1" / "hw1.ipynb"


def test_there_are_alternatives() -> None:
    assert len(ALTERNATIVES) >= 3
    for path in ALTERNATIVES:
        assert load_variant(path).catches == ["none"], f"{path.name}: an alternative is correct ('catches: none')"


@pytest.mark.slow
def test_alternatives_get_full_marks(tmp_path: Path) -> None:
    folder = tmp_path / "submissions"
    for path in ALTERNATIVES:
        apply_variant(REFERENCE, load_variant(path), folder / f"alternative-{path.stem}.ipynb")
    out = tmp_path / "out"
    grade_cli("hw1", [folder], out)
    problems = []
    for path in ALTERNATIVES:
        graded = results(out, f"alternative-{path.stem}")
        if graded["score"] != graded["max_score"]:
            failed = "; ".join(f"{t['name']}: {t.get('output', '')[:300]}" for t in graded["tests"] if t["status"] != "passed")
            problems.append(f"{path.stem}: {graded['score']}/{graded['max_score']} ({failed})")
    assert not problems, "\n".join(problems)
