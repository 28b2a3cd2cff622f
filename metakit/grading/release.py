"""Make the student release of an assignment with real nbgrader (``generate_assignment``).

A temporary course directory is laid out the way nbgrader expects (``source/<hw>/``,
``nbgrader_config.py``, a throwaway sqlite gradebook), nbgrader runs in a subprocess, and
``release/<hw>/`` is copied to ``assignments/<hw>/``: solutions replaced by
``# YOUR CODE HERE`` stubs (written answers, with their rubrics, by ``YOUR ANSWER HERE``), outputs
cleared, locked cells checksummed. The written questions' rubrics are checked first.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from metakit.grading.written import read_questions
from metakit.paths import REPO_ROOT

CONFIG = """c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "metakit"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
"""


def assignments(root: Path = REPO_ROOT) -> list[str]:
    """Every assignment that has a source notebook in ``solutions/``."""
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").exists())


def generate_release(hw: str, destination: Path, root: Path = REPO_ROOT) -> Path:
    """Run nbgrader on ``solutions/<hw>/`` and write the student files to ``destination/<hw>``."""
    source = root / "solutions" / hw
    if not (source / f"{hw}.ipynb").exists():
        raise FileNotFoundError(f"no source notebook {source / (hw + '.ipynb')}")
    read_questions(source / f"{hw}.ipynb")  # a bad rubric stops the release (RubricError: notebook, cell, line)
    with tempfile.TemporaryDirectory(prefix="metakit-release-") as tmp:
        course = Path(tmp)
        shutil.copytree(source, course / "source" / hw,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
        run = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", hw, "--force", "--create",
             "--log-level=WARN"],
            cwd=course, capture_output=True, text=True, env=_env_with_scripts(),
        )
        released = course / "release" / hw
        if run.returncode != 0 or not released.exists():
            raise RuntimeError(f"nbgrader generate_assignment {hw} failed:\n{run.stdout}\n{run.stderr}")
        target = destination / hw
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(released, target)
    for nb in target.glob("*.ipynb"):
        normalize(nb)
    return target


def _env_with_scripts() -> dict[str, str]:
    """nbgrader calls ``alembic`` by name: put this interpreter's scripts folder on PATH."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


def normalize(path: Path) -> None:
    """Stable JSON (sorted keys, fixed indent) so a fresh release can be compared byte for byte."""
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def release(hws: list[str] | None = None, root: Path = REPO_ROOT) -> list[Path]:
    return [generate_release(hw, root / "assignments", root) for hw in (hws or assignments(root))]
