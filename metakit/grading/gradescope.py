"""``python -m metakit gradescope HW --out autograder.zip``: an autograder for Gradescope.

The zip holds the kit (package, released notebook, hidden graders), ``setup.sh`` (installs Python,
a CPU build of torch and the kit on Gradescope's Ubuntu image) and ``run_autograder`` (grades
``/autograder/submission`` offline and writes ``/autograder/results/results.json``).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from metakit.paths import REPO_ROOT

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (network allowed here only).
set -euo pipefail
apt-get update
apt-get install -y python3 python3-pip python3-venv util-linux
python3 -m venv /opt/metakit
/opt/metakit/bin/pip install --upgrade pip
/opt/metakit/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/opt/metakit/bin/pip install "/autograder/source/kit{extras}"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; nothing here needs the network.
set -uo pipefail
ROOT="${{METAKIT_GRADESCOPE_ROOT:-/autograder}}"
PYTHON="${{METAKIT_PYTHON:-/opt/metakit/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source/kit"
"$PYTHON" -m metakit grade {hw} "$ROOT/submission" --gradescope "$ROOT/results/results.json" \\
    --kit-root "$ROOT/source/kit" --out "$ROOT/results/metakit" --hide "$ROOT/source" --hide "$ROOT/results" \\
    --jobs 1 --no-progress
"""


def _kit_files(hw: str, root: Path) -> list[tuple[Path, str]]:
    files = [(root / "pyproject.toml", "kit/pyproject.toml"), (root / "README.md", "kit/README.md")]
    for folder in (root / "metakit", root / "autograder" / hw, root / "assignments" / hw):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path, "kit/" + path.relative_to(root).as_posix()))
    return files


def build_autograder_zip(hw: str, out: Path, root: Path = REPO_ROOT, extras: str = "") -> Path:
    """Write the Gradescope autograder zip for ``hw``; ``extras`` like ``"[lm]"`` for hw3."""
    for needed in (root / "autograder" / hw, root / "assignments" / hw / f"{hw}.ipynb"):
        if not needed.exists():
            raise FileNotFoundError(f"cannot build the autograder for {hw}: {needed} is missing")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH.format(extras=extras)), ("run_autograder", RUN_AUTOGRADER.format(hw=hw))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            archive.writestr(info, text)
        for path, arcname in _kit_files(hw, root):
            archive.write(path, arcname)
    return out
