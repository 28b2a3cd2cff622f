"""Grade notebooks through the real CLI (``python -m metakit grade``) and read the reports."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from metakit.paths import REPO_ROOT


def grade_cli(hw: str, submissions: list[Path], out: Path, jobs: int = 2, extra: list[str] | None = None,
              timeout: float = 3600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "metakit", "grade", hw, *map(str, submissions), "--out", str(out),
               "--jobs", str(jobs), "--no-progress", *(extra or [])]
    run = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)
    assert run.returncode == 0, f"metakit grade failed:\n{run.stdout}\n{run.stderr}"
    return run


def results(out: Path, student: str) -> dict:
    """The Gradescope results.json written for ``student``."""
    return json.loads((out / "gradescope" / f"{student}.json").read_text())


def by_test_name(result: dict) -> dict[str, dict]:
    """Per-test entries keyed by the test function's name."""
    return {t["name"].rsplit("(", 1)[1].rstrip(")"): t for t in result["tests"]}
