"""Correct alternative implementations of hw3 (tests/alternatives/hw3/: different code, the documented
behaviour) get full marks from the hidden graders, graded through the real CLI on the tests that
exercise the cells they replace."""
from __future__ import annotations

from pathlib import Path

import pytest

from metakit.paths import REPO_ROOT
from tests.hw3_submissions import failures, grade_files

FOLDER = REPO_ROOT / "tests" / "alternatives" / "hw3"


@pytest.mark.slow
def test_alternatives_get_full_marks(tmp_path: Path) -> None:
    graded = grade_files(FOLDER, tmp_path)
    assert len(graded) >= 3
    problems = [f"{name}: {result['score']}/{result['max_score']} ({failures(result)})"
                for name, (result, _) in graded.items() if result["score"] != result["max_score"]]
    assert not problems, "\n".join(problems)
