"""hw2: hostile submissions (tests/hostile/hw2/) get exactly the score they deserve.

Each file is in the variant format, applied to the reference (``base: reference``) or to the
untouched student release (``base: release``, cells written in full); ``catches:`` names the hidden
tests it is graded on and ``score:`` the exact total it must get on them: the honest part's points,
or 0. They cover the holes of training tests (a non-learning rule, a fixed feature swapped into the
kit), degenerate answers that satisfy property tests vacuously, and kit functions replaced at load.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, results

HOSTILE = sorted((REPO_ROOT / "tests" / "hostile" / "hw2").glob("*.py"))
BASES = {"reference": REPO_ROOT / "solutions" / "hw2" / "hw2.ipynb",
         "release": REPO_ROOT / "assignments" / "hw2" / "hw2.ipynb"}


def _header(path: Path) -> dict[str, str]:
    doc = ast.get_docstring(ast.parse(path.read_text().split("# %% grade_id:")[0])) or ""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in doc.splitlines()) if _ and k.strip()
            in ("base", "score")}


def test_hostile_files_say_what_they_deserve() -> None:
    assert len(HOSTILE) >= 3
    for path in HOSTILE:
        header = _header(path)
        assert header.get("base") in BASES, f"{path.name}: needs 'base: reference' or 'base: release'"
        float(header["score"])
        assert load_variant(path).catches


@pytest.mark.slow
def test_hostile_submissions_get_exactly_their_score(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    tests: set[str] = set()
    for path in HOSTILE:
        variant = load_variant(path)
        apply_variant(BASES[_header(path)["base"]], variant, folder / f"{path.stem}.ipynb")
        tests |= set(variant.catches)
    grade_cli("hw2", [folder], tmp_path / "out", extra=["--tests", ",".join(sorted(tests))])
    problems = []
    for path in HOSTILE:
        variant, expected = load_variant(path), float(_header(path)["score"])
        graded = by_test_name(results(tmp_path / "out", path.stem))
        got = sum(graded[t]["score"] for t in variant.catches)
        if got != expected:
            detail = {t: f"{graded[t]['status']} {graded[t]['score']}" for t in variant.catches}
            problems.append(f"{path.stem}: {got} points on {variant.catches}, expected exactly {expected}: {detail}")
    assert not problems, "\n".join(problems)
