"""The kit grades wherever it is installed: here, the kit and an interpreter whose venv both live
under /tmp (the folder every worker gets a private copy of). Namespace isolation must still see
them, read-only, in the probe, in the zygote and in each forked worker, whose own /tmp is fresh; a
hidden test imports a kit module the zygote never loaded, so a worker that lost the package under
/tmp (as forked workers once did) fails it."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from metakit.grading.sandbox import namespaces_available
from metakit.paths import REPO_ROOT


def test_an_interpreter_under_tmp_grades_in_namespaces(tmp_path: Path) -> None:
    if not namespaces_available():
        pytest.skip("needs namespace isolation (Linux, util-linux, root or unprivileged user namespaces)")
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is under /tmp here"
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")   # the libraries, not the kit
    kit = tmp_path / "kit"
    for folder in ("metakit", "assignments/hw_example", "autograder/hw_example"):
        shutil.copytree(REPO_ROOT / folder, kit / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (kit / "autograder" / "hw_example" / "test_install.py").write_text(LATE_IMPORT)
    out = tmp_path / "out"
    reference = REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"
    run = subprocess.run([str(python), "-m", "metakit", "grade", "hw_example", str(reference), "--out", str(out),
                          "--isolation", "namespaces", "--tests", "test_softmax_values,test_a_late_import",
                          "--no-progress"], capture_output=True, text=True, cwd=kit, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "isolation: namespaces" in run.stderr
    result = json.loads((out / "gradescope" / "hw_example.json").read_text())
    assert result["score"] == result["max_score"] == 3, result


LATE_IMPORT = '''
from metakit.grading import check, graded, tensor


@graded(points=1, timeout=60)
def test_a_late_import(student):
    """The worker can import kit modules the zygote never loaded (the package under /tmp)."""
    student.call("importlib:import_module", "metakit.stats", keep=True)
    student.call("importlib:import_module", "metakit.episodes", keep=True)
    check(student.call("softmax", tensor([[0.0, 0.0]])) is not None, "softmax")
'''

