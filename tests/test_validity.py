"""Grader validity: the reference gets full marks, the untouched release zero, and every known-wrong
variant in tests/variants/<hw>/ loses points on the tests it names. Graded through the real CLI."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant, variants_for
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results, by_test_name

FAST = {"hw_example"}
ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "autograder").iterdir() if p.is_dir()) \
    if (REPO_ROOT / "autograder").exists() else []


def _params():
    for hw in ASSIGNMENTS:
        marks = [] if hw in FAST else [pytest.mark.slow]
        yield pytest.param(hw, marks=marks, id=hw)


@pytest.mark.parametrize("hw", list(_params()))
def test_grader_validity(hw: str, tmp_path: Path) -> None:
    reference = REPO_ROOT / "solutions" / hw / f"{hw}.ipynb"
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(reference, folder / "reference.ipynb")
    shutil.copy(REPO_ROOT / "assignments" / hw / f"{hw}.ipynb", folder / "untouched.ipynb")
    variants = [load_variant(p) for p in variants_for(hw, REPO_ROOT)]
    for variant in variants:
        apply_variant(reference, variant, folder / f"variant-{variant.name}.ipynb")
    out = tmp_path / "out"
    grade_cli(hw, [folder], out)

    ref = results(out, "reference")
    assert ref["score"] == ref["max_score"] > 0, _failures(ref)
    untouched = results(out, "untouched")
    assert untouched["score"] == 0, f"the untouched release scored {untouched['score']}"
    problems = []
    for variant in variants:
        graded = results(out, f"variant-{variant.name}")
        tests = by_test_name(graded)
        missing = [t for t in variant.catches if t not in tests]
        if missing:
            problems.append(f"{variant.name}: names unknown tests {missing}")
            continue
        not_caught = [t for t in variant.catches if tests[t]["status"] == "passed"]
        if not_caught or graded["score"] >= graded["max_score"]:
            problems.append(f"{variant.name} ({variant.description}) was not caught by {not_caught}; "
                            f"score {graded['score']}/{graded['max_score']}")
    assert not problems, "\n".join(problems)


def _failures(result: dict) -> str:
    return "\n".join(f"{t['name']}: {t['output']}" for t in result["tests"] if t["status"] != "passed")
