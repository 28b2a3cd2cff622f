"""Grade hw3's alternative and hostile submissions (files in the variant format, with ``tests:``,
``base:`` and ``score:`` lines in their docstrings) through the real CLI."""
from __future__ import annotations

from pathlib import Path

from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, results

HW = "hw3"
BASES = {"reference": REPO_ROOT / "solutions" / HW / f"{HW}.ipynb",
         "release": REPO_ROOT / "assignments" / HW / f"{HW}.ipynb"}


def header(path: Path, key: str, default: str | None = None) -> str:
    """The value of a ``key: value`` line of the file's docstring."""
    doc = load_variant(path)
    text = path.read_text().split("# %% grade_id:")[0]
    for line in text.splitlines():
        if line.strip().startswith(f"{key}:"):
            return line.partition(":")[2].strip()
    if default is None:
        raise ValueError(f"{path}: no '{key}:' line in the docstring ({doc.description})")
    return default


def grade_files(folder: Path, tmp_path: Path) -> dict[str, tuple[dict, dict]]:
    """Grade every file of ``folder`` on the tests it names; name -> (Gradescope result, its header)."""
    graded = {}
    groups: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.py")):
        groups.setdefault(header(path, "tests"), []).append(path)
    for number, (tests, paths) in enumerate(groups.items()):
        submissions = tmp_path / f"submissions{number}"
        submissions.mkdir()
        for path in paths:
            base = BASES[header(path, "base", "reference")]
            apply_variant(base, load_variant(path), submissions / f"{path.stem}.ipynb")
        out = tmp_path / f"out{number}"
        grade_cli(HW, [submissions], out, extra=["--tests", ",".join(t.strip() for t in tests.split(","))])
        for path in paths:
            graded[path.stem] = (results(out, path.stem), {"score": header(path, "score", "")})
    return graded


def failures(result: dict) -> str:
    return "; ".join(f"{name}: {t['output'][:300]}" for name, t in by_test_name(result).items()
                     if t["status"] != "passed")
