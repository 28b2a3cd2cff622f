"""Hostile hw3 submissions (tests/hostile/hw3/: shortcuts that learn nothing, degenerate answers, kit
helpers patched at load) get exactly the score their docstring states: the honest part's points and
nothing for the attack. Graded through the real CLI on the tests each names."""
from __future__ import annotations

from pathlib import Path

import pytest

from metakit.paths import REPO_ROOT
from tests.hw3_submissions import failures, grade_files

FOLDER = REPO_ROOT / "tests" / "hostile" / "hw3"


@pytest.mark.slow
def test_hostile_submissions_get_exactly_their_score(tmp_path: Path) -> None:
    graded = grade_files(FOLDER, tmp_path)
    assert len(graded) >= 4
    problems = [f"{name}: {result['score']} points, expected {float(head['score'])} ({failures(result)})"
                for name, (result, head) in graded.items() if result["score"] != float(head["score"])]
    assert not problems, "\n".join(problems)
