"""One assignment's settings, in ``autograder/<hw>/assignment.toml`` (all optional):

.. code-block:: toml

    extras = ["lm"]            # the kit's pip extras its graders need (the Gradescope zip installs them)
    data = ["data/intents"]    # files or folders, relative to the kit root, that graders and workers read
    preload = ["metakit.lm:preload"]  # imported (module) or called (module:function) once by each
                               # submission's zygote, so that the workers it forks start with them

    [shared]                   # read-only folders every worker sees, made once by the grading process:
    METAKIT_CAUSAL_LM_DIR = "metakit.causal_lm:model_folder"   # variable = module:function -> folder

    [gradescope]               # the container it needs (Gradescope's default, 768 MB / 1 CPU / 600 s, if left out)
    memory_mb = 1536
    cpus = 1
    timeout_s = 600
    measured_peak_mb = 1031    # what tests/test_gradescope_sim.py measured there (the zip's README and
    measured_wall_s = 156      # `python -m metakit gradescope HW` print the settings and these figures)

    [late]                     # the late policy (none if left out): see metakit/grading/late.py
    deadline = 2026-03-06T23:59:00-08:00
    grace_minutes = 15
    penalty_per_day = 0.10     # a fraction of the score per late day
    max_late_days = 4          # beyond: score 0
    cap = 0.30                 # the most a late submission loses up to max_late_days

Every zygote imports numpy, torch and the worker code, then the assignment's ``preload``: libraries
only, never a submission. Nothing more by default: a forked worker writes the reference counts of
what it uses of the zygote's imports, so pages of a preloaded library get copied, and it pays where
imports take many seconds (hw3's transformers). For matplotlib (about 1 s a test) the simulated
container measured hw1 at 796 MB with it preloaded and 791-794 MB without: not yet decided.

``[shared]`` is for what is too slow to make in every worker and too big for the zip: before the
first submission the grader calls each function in its own process (hw3: the dequantised SmolLM2
weights, about 100 s once, then cached), shows the folder it returns read-only to every worker and
sets the variable to that folder in the worker's environment (and in the graders'). A function
that fails stops the run with its error: no submission is graded without it.

The grader packs the data into the Gradescope zip and shows it read-only to the worker; nothing
else of the kit's checkout is visible there.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from metakit.grading.late import LatePolicy, parse_policy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "assignment.toml"
PRELOAD_ENTRY = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
SHARED_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
SHARED_NAME = re.compile(r"^METAKIT_[A-Z0-9_]+$")
EXTRA_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
KNOWN = ("extras", "data", "gradescope", "preload", "late", "shared")


@dataclass
class AssignmentConfig:
    hw: str
    extras: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    gradescope: dict = field(default_factory=dict)
    preload: list[str] = field(default_factory=list)  # what each submission's zygote imports (calls) first
    late: LatePolicy | None = None  # the late policy, None when the file has no [late] table
    shared: dict[str, str] = field(default_factory=dict)  # variable -> "module:function" giving a read-only folder

    def data_paths(self, root: Path) -> list[Path]:
        return [root / d for d in self.data]

    def extras_spec(self) -> str:
        """``"[lm]"`` for pip, or ``""``."""
        return f"[{','.join(self.extras)}]" if self.extras else ""


def load_config(hw: str, root: Path) -> AssignmentConfig:
    """The settings of ``hw`` under the kit ``root``; a clear error naming the file when malformed."""
    path = root / "autograder" / hw / CONFIG_NAME
    if not path.exists():
        return AssignmentConfig(hw)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - set(KNOWN))
    if unknown:
        raise ValueError(f"{path}: unknown settings {unknown} (known: {', '.join(KNOWN)})")
    late = parse_policy(raw["late"], str(path)) if "late" in raw else None
    config = AssignmentConfig(hw, list(raw.get("extras", [])), list(raw.get("data", [])), dict(raw.get("gradescope", {})),
                              list(raw.get("preload", [])), late, dict(raw.get("shared", {})))
    for name, entry in config.shared.items():
        if not SHARED_NAME.match(name) or not isinstance(entry, str) or not SHARED_ENTRY.match(entry):
            raise ValueError(f"{path}: [shared] {name} = {entry!r}: want METAKIT_NAME = \"module:function\"")
    _check_extras(raw.get("extras", []), root, path)
    for entry in config.preload:
        if not isinstance(entry, str) or not PRELOAD_ENTRY.match(entry):
            raise ValueError(f"{path}: preload entry {entry!r} is not a module name or module:function")
    for entry in config.data:
        if Path(entry).is_absolute() or ".." in Path(entry).parts:
            raise ValueError(f"{path}: data entry {entry!r} must be a path inside the kit root")
        if not (root / entry).exists():
            raise ValueError(f"{path}: data entry {entry!r} does not exist under {root}")
    return config


def kit_extras(root: Path) -> list[str] | None:
    """The pip extras the kit under ``root`` declares (``[project.optional-dependencies]`` of its
    pyproject.toml), or None when it has no pyproject.toml (a kit root made for a test)."""
    pyproject = root / "pyproject.toml"
    if not pyproject.exists():
        return None
    return sorted(tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
                  .get("optional-dependencies", {}))


def _check_extras(extras: object, root: Path, path: Path) -> None:
    """``extras`` must be a list of extra names, each one the kit declares (when it has a pyproject.toml)."""
    if not isinstance(extras, list) or not all(isinstance(e, str) and EXTRA_NAME.match(e) for e in extras):
        raise ValueError(f"{path}: extras = {extras!r}: want a list of the kit's pip extras, e.g. extras = [\"lm\"]")
    known = kit_extras(root)
    unknown = sorted(set(extras) - set(known)) if known is not None else []
    if unknown:
        raise ValueError(f"{path}: extras {unknown} are not extras of the kit "
                         f"(pyproject.toml declares {', '.join(known) or 'none'})")


SHARED_TIMEOUT_S = 1800


def prepare_shared(config: AssignmentConfig) -> dict[str, Path]:
    """Call each ``[shared]`` function of ``config`` (in a child interpreter with this process's
    import path, so that what it imports, torch and transformers for hw3, never weighs on the
    grading process): variable -> the folder it returned. Raises a RuntimeError naming the entry and
    its cause when one fails or returns no folder."""
    if not config.shared:
        return {}
    run = subprocess.run([sys.executable, "-c", _SHARED_CHILD, json.dumps(config.shared)], capture_output=True,
                         text=True, timeout=SHARED_TIMEOUT_S, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    lines = run.stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if run.returncode == 0 and lines else {}
    folders: dict[str, Path] = {}
    for name, entry in config.shared.items():
        if name not in answer:
            cause = answer.get("_error") or (run.stderr.strip().splitlines() or ["it exited with status "
                                                                                 f"{run.returncode}"])[-1]
            raise RuntimeError(f"{config.hw}'s [shared] {name} = {entry!r} failed: {cause}")
        folder = Path(answer[name])
        if not folder.is_dir():
            raise RuntimeError(f"{config.hw}'s [shared] {name} = {entry!r} returned {folder}, which is not a folder")
        folders[name] = folder.resolve()
    return folders


_SHARED_CHILD = """
import importlib, json, sys
answer = {}
for name, entry in json.loads(sys.argv[1]).items():
    module_name, function = entry.split(":")
    try:
        answer[name] = str(getattr(importlib.import_module(module_name), function)())
    except Exception as exc:
        answer["_error"] = f"{type(exc).__name__}: {exc}"
        break
print(json.dumps(answer))
"""
