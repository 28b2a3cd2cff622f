"""Grader validity: the reference gets full marks, the untouched release zero (both through the real
CLI), and every known-wrong variant in tests/variants/<hw>/ loses points on the tests it names
(through the CLI's grading engine, each variant on its own tests)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from metakit.grading.variants import Variant, apply_variant, load_variant, variants_for
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, grade_each, results

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
    out = tmp_path / "out"
    grade_cli(hw, [folder], out)
    ref = results(out, "reference")
    assert ref["score"] == ref["max_score"] > 0, _failures(ref)
    untouched = results(out, "untouched")
    assert untouched["score"] == 0, f"the untouched release scored {untouched['score']}"

    # Each variant is graded on the tests it names (losing points there is losing points), so the
    # suite stays affordable; one grader (one probe, one collection) grades them all, as
    # `grade --tests` would each of them.
    variants = [load_variant(p) for p in variants_for(hw, REPO_ROOT)]
    folder = tmp_path / "variants"
    folder.mkdir()
    for variant in variants:
        apply_variant(reference, variant, folder / f"variant-{variant.name}.ipynb")
    graded = grade_each(hw, [(folder / f"variant-{v.name}.ipynb", sorted(set(v.catches))) for v in variants])
    problems = [p for v in variants if (p := uncaught(v, graded[f"variant-{v.name}"]))]
    assert not problems, "\n".join(problems)


def uncaught(variant: Variant, graded: dict) -> str:
    """Why ``variant`` was not caught (empty when every test it names failed and it lost points)."""
    tests = by_test_name(graded)
    missing = [t for t in variant.catches if t not in tests]
    if missing:
        return f"{variant.name}: names unknown tests {missing}"
    not_caught = [t for t in variant.catches if tests[t]["status"] == "passed"]
    if not_caught or graded["score"] >= graded["max_score"]:
        return (f"{variant.name} ({variant.description}) was not caught by {not_caught}; "
                f"score {graded['score']}/{graded['max_score']}")
    return ""


def test_uncaught_variants_are_reported() -> None:
    def graded(statuses: dict[str, str]) -> dict:
        tests = [{"name": f"title ({n})", "status": s, "score": 1.0 if s == "passed" else 0.0} for n, s in statuses.items()]
        return {"tests": tests, "score": sum(t["score"] for t in tests), "max_score": float(len(tests))}

    variant = Variant("v", "wrong", ["test_a"], {"x": ""})
    assert uncaught(variant, graded({"test_a": "failed", "test_b": "passed"})) == ""
    assert "not caught by ['test_a']" in uncaught(variant, graded({"test_a": "passed", "test_b": "failed"}))
    assert "unknown tests" in uncaught(Variant("v", "w", ["test_z"], {}), graded({"test_a": "failed"}))


def _failures(result: dict) -> str:
    return "\n".join(f"{t['name']}: {t['output']}" for t in result["tests"] if t["status"] != "passed")
