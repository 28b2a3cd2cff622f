"""An assignment's ``[shared]`` folders (assignment.toml): made once by the grading process, shown
read-only to every worker, named by a variable in the worker's environment and the graders'. hw3
uses it so that no worker dequantises SmolLM2 itself. A failing ``[shared]`` function stops the
run before any submission is graded, with its cause."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metakit.grading.assignment import load_config, prepare_shared
from metakit.grading.runner import Grader, Kit, Submission
from metakit.grading.sandbox import namespaces_available
from metakit.paths import REPO_ROOT

VARIABLE = "METAKIT_TEST_SHARED"


def shared_folder() -> Path:
    """The [shared] function of the test kit below: a folder with one file, readable by all."""
    root = Path(os.environ["METAKIT_TEST_SHARED_ROOT"])
    with open(root / "calls.txt", "a") as calls:   # it runs in a child of the grading process
        calls.write("made\n")
    folder = root / "shared"
    folder.mkdir(mode=0o755)
    (folder / "weights.txt").write_text("42")
    (folder / "weights.txt").chmod(0o644)
    return folder


def broken_folder() -> Path:
    raise OSError("no room left for the weights")


SHARED_TEST = f'''
import os

from metakit.grading import check, graded


@graded(points=1, timeout=60)
def test_the_worker_reads_the_shared_folder(student):
    """the worker sees the variable and reads the folder; the grader sees the same variable"""
    folder = os.environ["{VARIABLE}"]
    check(student.call("os:getenv", "{VARIABLE}") == folder, "the variable in the worker")
    check(student.call("os:listdir", folder) == ["weights.txt"], "the folder in the worker")
'''


def _kit(tmp_path: Path, entry: str) -> Kit:
    root = tmp_path / "kit"
    for folder in ("assignments/hw_example", "autograder/hw_example"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    graders = root / "autograder" / "hw_example"
    for test in graders.glob("test_*.py"):
        test.unlink()
    (graders / "test_shared.py").write_text(SHARED_TEST)
    (graders / "assignment.toml").write_text(f'[shared]\n{VARIABLE} = "{entry}"\n')
    return Kit(root)


def test_shared_entries_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "autograder" / "hwx"
    folder.mkdir(parents=True)
    for text in ('[shared]\nPATH = "os:getcwd"', '[shared]\nMETAKIT_X = "os"', '[shared]\nMETAKIT_X = 3',
                 '[shared]\nMETAKIT_X = "os:getcwd; rm"'):
        (folder / "assignment.toml").write_text(text)
        with pytest.raises(ValueError, match=r"want METAKIT_NAME = \"module:function\""):
            load_config("hwx", tmp_path)
    assert load_config("hw3", REPO_ROOT).shared == {"METAKIT_CAUSAL_LM_DIR": "metakit.causal_lm:model_folder"}


def test_prepare_shared_names_the_entry_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_TEST_SHARED_ROOT", str(tmp_path))
    config = load_config("hw_example", _kit(tmp_path, "tests.test_shared_folders:shared_folder").root)
    assert prepare_shared(config) == {VARIABLE: (tmp_path / "shared").resolve()}
    assert (tmp_path / "calls.txt").read_text() == "made\n"
    for entry, match in (("tests.test_shared_folders:broken_folder", "OSError: no room left"),
                         ("os:getcwd", None), ("tests.test_shared_folders:no_such", "AttributeError")):
        config.shared = {VARIABLE: entry}
        if match is None:   # returns a folder: fine
            assert prepare_shared(config)[VARIABLE] == Path(os.getcwd()).resolve()
            continue
        with pytest.raises(RuntimeError, match=rf"hw_example's \[shared\] {VARIABLE} = '{entry}' failed: {match}"):
            prepare_shared(config)
    config.shared = {VARIABLE: "tempfile:mktemp"}   # a path where nothing is
    with pytest.raises(RuntimeError, match="not a folder"):
        prepare_shared(config)


def test_the_shared_functions_run_outside_the_grading_process(tmp_path: Path) -> None:
    """What a [shared] function imports (torch and transformers, for hw3) never lands in the grading
    process: it runs in a child interpreter, which still imports what the grader can import."""
    code = ("import sys; from pathlib import Path; from metakit.grading.assignment import AssignmentConfig, prepare_shared\n"
            "config = AssignmentConfig('hwx', shared={'METAKIT_TEST_SHARED': 'tests.test_shared_folders:shared_folder'})\n"
            "print(prepare_shared(config)['METAKIT_TEST_SHARED'])\n"
            "assert 'tests.test_shared_folders' not in sys.modules\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                         env={**os.environ, "METAKIT_TEST_SHARED_ROOT": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str((tmp_path / "shared").resolve())


@pytest.mark.parametrize("isolation", ["namespaces", "process"])
def test_every_worker_reads_the_shared_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolation: str) -> None:
    if isolation == "namespaces" and not namespaces_available():
        pytest.skip("needs namespace isolation (Linux, util-linux, root or unprivileged user namespaces)")
    tmp_path.chmod(0o755)   # the folder lies under pytest's tmp_path: the worker's user must reach it
    monkeypatch.setenv("METAKIT_TEST_SHARED_ROOT", str(tmp_path))
    grader = Grader("hw_example", kit=_kit(tmp_path, "tests.test_shared_folders:shared_folder"), isolation=isolation)
    try:
        graded = grader.grade(Submission("ref", REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"))
        again = grader.grade(Submission("ref", REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"))
    finally:
        grader.close()
    for result in (graded, again):
        assert [(t.name, t.points) for t in result.tests] == [("test_the_worker_reads_the_shared_folder", 1)], \
            result.tests
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls == ["made"], "the [shared] function runs once a grading run, not once a submission"


def test_a_failing_shared_function_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no room left for the weights"):
        Grader("hw_example", kit=_kit(tmp_path, "tests.test_shared_folders:broken_folder"), isolation="process")


def test_the_gradescope_setup_makes_the_shared_folders_at_build_time() -> None:
    """hw3's setup.sh makes SmolLM2's float weights while the image is built, not in a grading run."""
    from metakit.grading.gradescope import shared_line

    hw3 = shared_line(load_config("hw3", REPO_ROOT))
    assert "prepare_shared(load_config('hw3', Path('$SOURCE/kit')))" in hw3 and hw3.startswith('"$VENV/bin/python" -c')
    assert shared_line(load_config("hw_example", REPO_ROOT)) == ""
