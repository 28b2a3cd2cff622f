"""Every variant, alternative and hostile submission file still applies to the notebook it patches and
names only hidden tests that exist.

The slow suites grade these files; this fast check catches the commonest way they rot (a reference
line a patch quotes was edited, a test was renamed) in seconds, before the slow suite would.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT

KINDS = ("variants", "alternatives", "hostile")
HEADER_LISTS = ("catches", "tests", "grade")  # docstring lines that name hidden tests


def submission_files() -> list[Path]:
    return sorted(p for kind in KINDS for p in (REPO_ROOT / "tests" / kind).glob("*/*.py")
                  if p.name != "__init__.py")


def hidden_tests(hw: str) -> set[str]:
    """The names of the test functions in autograder/<hw>/test_*.py."""
    names = set()
    for path in (REPO_ROOT / "autograder" / hw).glob("test_*.py"):
        tree = ast.parse(path.read_text())
        names |= {node.name for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    return names


def header_value(path: Path, key: str) -> str | None:
    """The value of a ``key: value`` line of the file's docstring, or None."""
    docstring = ast.get_docstring(ast.parse(path.read_text().split("# %% grade_id:")[0])) or ""
    for line in docstring.splitlines():
        if line.strip().startswith(f"{key}:"):
            return line.partition(":")[2].strip()
    return None


def named_tests(path: Path) -> set[str]:
    names = set()
    for key in HEADER_LISTS:
        value = header_value(path, key)
        if value:
            names |= {t for t in value.replace(",", " ").split() if t != "none"}
    return names


@pytest.mark.parametrize("path", submission_files(), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}")
def test_file_applies_and_names_real_tests(path: Path, tmp_path: Path) -> None:
    hw = path.parent.name
    base = header_value(path, "base") or "reference"
    notebook = {"reference": REPO_ROOT / "solutions" / hw / f"{hw}.ipynb",
                "release": REPO_ROOT / "assignments" / hw / f"{hw}.ipynb"}[base]
    apply_variant(notebook, load_variant(path), tmp_path / "submission.ipynb")
    unknown = named_tests(path) - hidden_tests(hw)
    assert not unknown, f"{path.name} names tests that autograder/{hw} does not have: {sorted(unknown)}"


def test_a_stale_patch_is_reported(tmp_path: Path) -> None:
    """The check above can fail: a patch whose reference line is not in the cell is refused."""
    stale = tmp_path / "stale.py"
    stale.write_text('"""Stale.\n\ncatches: test_x\n"""\n# %% grade_id: softmax\n'
                     "# <<< reference\nthis line is in no cell\n# === wrong\nx = 1\n# >>>\n")
    with pytest.raises(ValueError, match="appear 0 times"):
        apply_variant(REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb", load_variant(stale),
                      tmp_path / "out.ipynb")
