"""Hostile submissions against the sandbox itself, graded through the real CLI (hw_example).

Each asserts the exact score it deserves. A *thief* is the untouched release whose graded
functions look for the reference everywhere a worker might reach it (the kit's git history and
checkout, other processes through /proc, the grader's command line, every submission and cell file
under /tmp) and call it when found: it deserves 0. A *writer* is the reference that also leaves its
code in every writable place (/tmp, /var/tmp, /dev/shm, HOME, the cache, the package folder, the
working folder, SysV shared memory; not the kit's package folder: a process-isolated worker that
can write there can rewrite the kit itself, the stated limit of that mode); the *reader* graded after it is the release that looks there:
it deserves 0. A *bomb* is the reference whose ``accuracy`` answers with a deflated frame that inflates 1000-fold: it
loses exactly that test, and the grading process survives. Honest submissions in the same batch get
exactly the score they get alone.

Run as root in both namespace flavours: as root (``setpriv`` to nobody) and through an
unprivileged user namespace (``METAKIT_USERNS=1``, the path a non-root instructor takes).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from metakit.grading.sandbox import namespaces_available
from metakit.grading.variants import Variant, apply_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import by_test_name, grade_cli, results

pytestmark = pytest.mark.slow

HW = "hw_example"
TESTS = ["test_softmax_values", "test_cross_entropy_value", "test_accuracy"]   # 2 + 2 + 1 points
POINTS = {"test_softmax_values": 2.0, "test_cross_entropy_value": 2.0, "test_accuracy": 1.0}
GRADED = ("softmax", "cross_entropy", "accuracy")

LOOK_EVERYWHERE = r'''
import glob as _glob
import json as _json
import os as _os
import subprocess as _subprocess
import sys as _sys

_NOTE = "metakit-note.py"


def _kit_root():
    return _os.path.dirname(_os.path.dirname(_sys.modules["metakit"].__file__))


def _note_places():
    return ["/tmp", "/var/tmp", "/dev/shm", _os.path.expanduser("~"), _os.environ.get("METAKIT_CACHE", "/nonexistent"),
            _os.getcwd()]


def _shm(text=None):
    """Write (or read back) a note in SysV shared memory, key 0x6d6b6974."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    size = 1 << 16
    shmid = libc.shmget(0x6D6B6974, size, (0o1000 | 0o666) if text is not None else 0)
    if shmid < 0:
        return None
    address = libc.shmat(shmid, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        return None
    if text is not None:
        data = text.encode()[: size - 1] + b"\0"
        ctypes.memmove(address, data, len(data))
        return None
    return ctypes.string_at(address).decode(errors="ignore")


def _read(path, found, deadline):
    """A regular file's text (never a pipe or device, which could block), within the time budget."""
    import time
    if time.monotonic() > deadline:
        return
    try:
        if _os.path.isfile(path) and _os.path.getsize(path) < 5_000_000:
            with open(path, errors="ignore") as handle:
                found.append(handle.read())
    except Exception:
        pass


def _texts():
    import time
    deadline = time.monotonic() + 8.0
    kit = _kit_root()
    found = []
    try:
        listing = _subprocess.run(["git", "-C", kit, "ls-tree", "-r", "--name-only", "HEAD", "solutions"],
                                  capture_output=True, text=True, timeout=30).stdout.split()
        for name in [n for n in listing if n.endswith(".ipynb")]:
            found.append(_subprocess.run(["git", "-C", kit, "show", "HEAD:" + name],
                                         capture_output=True, text=True, timeout=30).stdout)
    except Exception:
        pass
    for place in _note_places():
        _read(_os.path.join(place, _NOTE), found, deadline + 60)
    for path in _glob.glob(kit + "/solutions/*/*.ipynb"):
        _read(path, found, deadline + 60)
    roots = ["/tmp", kit + "/.git"] + _glob.glob("/proc/[0-9]*/cwd") + _glob.glob("/proc/[0-9]*/root/tmp")
    for root in roots:
        for folder, _dirs, files in _os.walk(root):
            if time.monotonic() > deadline or folder.count("/") - root.count("/") > 6:
                _dirs[:] = []
                continue
            for name in files:
                if name.endswith((".ipynb", "cells.json", "submission.py")):
                    _read(_os.path.join(folder, name), found, deadline)
    for cmdline in _glob.glob("/proc/*/cmdline"):
        try:
            args = open(cmdline, "rb").read().split(b"\0")
        except Exception:
            continue
        for arg in (a.decode(errors="ignore") for a in args):
            if arg.endswith(".ipynb"):
                _read(arg, found, deadline)
    try:
        found.append(_shm() or "")
    except Exception:
        pass
    return found


def _sources(text):
    """Python sources inside ``text``: itself, or the code cells of a notebook / cells.json."""
    try:
        data = _json.loads(text)
    except Exception:
        return [text]
    if isinstance(data, dict):
        return ["".join(c.get("source", "")) for c in data.get("cells", []) if c.get("cell_type") == "code"]
    if isinstance(data, list):
        return [c.get("code", "") for c in data if isinstance(c, dict)]
    return []


_FOUND = []


def _steal(name):
    """``name`` from a reference found anywhere, defined with the notebook's own imports and given code."""
    if not _FOUND:
        _FOUND.append([source for text in _texts() for source in _sources(text)])
    mine = _sys.modules["submission"].__dict__
    for source in _FOUND[0]:
        defines = ("def " + name + "(") in source or ("class " + name) in source
        if not defines or "raise NotImplementedError" in source or "_steal" in source:
            continue
        namespace = dict(mine)
        try:
            exec(source, namespace)
        except Exception:
            continue
        if callable(namespace.get(name)) and namespace[name] is not mine.get(name):
            return namespace[name]
    return None
'''

LEAVE_NOTES = r'''

def _leave_notes(code):
    for place in _note_places():
        try:
            with open(_os.path.join(place, _NOTE), "w") as handle:
                handle.write(code)
        except Exception:
            pass
    try:
        _shm(code)
    except Exception:
        pass
'''

REPLY_BOMB = '''
def accuracy(logits, labels):
    """Answers with a frame that inflates to 64 MiB (from about 64 KiB), written straight to the reply pipe."""
    import fcntl, io, os, struct, time, zipfile
    def is_pipe(fd):
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
        except OSError:        # the descriptor listdir itself used, closed by now
            return False
    pipes = [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2 and is_pipe(fd)]
    wfd = next(fd for fd in pipes if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("__json__.npy", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(64):
                member.write(chunk)
    data = buffer.getvalue()
    os.write(wfd, struct.pack(">Q", len(data)) + data)
    time.sleep(60)
'''


def solution_cells(hw: str) -> dict[str, str]:
    """grade_id -> source of every solution cell of ``hw``'s reference (solution markers removed)."""
    notebook = json.loads((REPO_ROOT / "solutions" / hw / f"{hw}.ipynb").read_text())
    cells = {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution") and meta.get("grade_id"):
            source = "".join(cell["source"])
            cells[meta["grade_id"]] = "\n".join(l for l in source.splitlines() if "### " not in l) + "\n"
    return cells


def thief_for(hw: str) -> dict[str, str]:
    """Every solution cell of ``hw`` replaced by stubs of the same names that call a stolen reference."""
    import ast

    cells, first = {}, True
    for grade_id, source in solution_cells(hw).items():
        stubs = []
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                stubs.append(f"""
def {node.name}(*args, **kwargs):
    found = _steal("{node.name}")
    if found is None:
        raise NotImplementedError("nothing to steal")
    return found(*args, **kwargs)
""")
            elif isinstance(node, ast.ClassDef):
                stubs.append(f"""
class {node.name}:
    def __new__(cls, *args, **kwargs):
        found = _steal("{node.name}")
        if found is None:
            raise NotImplementedError("nothing to steal")
        return found(*args, **kwargs)
""")
        cells[grade_id] = (LOOK_EVERYWHERE if first else "") + "".join(stubs)
        first = False
    return cells


def reference_cells() -> dict[str, str]:
    notebook = json.loads((REPO_ROOT / "solutions" / HW / f"{HW}.ipynb").read_text())
    cells = {}
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in GRADED:
            source = "".join(cell["source"])
            cells[grade_id] = "\n".join(line for line in source.splitlines() if "### " not in line) + "\n"
    return cells


def thief_cells() -> dict[str, str]:
    """Stubs that call whatever reference they can find."""
    return thief_for(HW)


def writer_cells() -> dict[str, str]:
    """The reference, plus notes of its code left everywhere when softmax is first called."""
    reference = reference_cells()
    code = "\n".join(reference[name] for name in GRADED)
    cells = dict(reference)
    cells["softmax"] = LOOK_EVERYWHERE + LEAVE_NOTES + reference["softmax"].replace(
        '"""\n', f'"""\n    _leave_notes({code!r})\n', 1)
    return cells


def write(folder: Path, name: str, cells: dict[str, str], base: str = "release", hw: str = HW) -> Path:
    template = REPO_ROOT / ("assignments" if base == "release" else "solutions") / hw / f"{hw}.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    return apply_variant(template, Variant(name, name, ["none"], cells), folder / f"{name}.ipynb")


def scores(out: Path, student: str) -> dict[str, float]:
    return {name: t["score"] for name, t in by_test_name(results(out, student)).items()}


@pytest.fixture(params=["root", "userns"])
def flavour(request, monkeypatch):
    if not namespaces_available():
        pytest.skip("namespace isolation is not available on this machine (needs Linux, util-linux, and root or "
                    "unprivileged user namespaces); process isolation does not hide the kit from its own user")
    if request.param == "userns":
        monkeypatch.setenv("METAKIT_USERNS", "1")
    return request.param


def grade(folder: Path, out: Path, jobs: int, isolation: str = "namespaces") -> None:
    grade_cli(HW, [folder], out, jobs=jobs, extra=["--tests", ",".join(TESTS), "--isolation", isolation])


def test_the_attacks_are_real_where_nothing_hides_the_kit(tmp_path: Path) -> None:
    """Positive control: in process isolation (the grading user's own view) the thief finds the
    reference and the reader finds the writer's note, so the zeros below mean the sandbox held."""
    batch = tmp_path / "batch"
    write(batch, "a-writer", writer_cells())
    write(batch, "b-thief", thief_cells())
    try:
        grade(batch, tmp_path / "out", jobs=1, isolation="process")
    finally:   # what the writer left on this machine (process isolation cannot stop it)
        for place in ("/tmp", "/var/tmp", "/dev/shm"):
            Path(place, "metakit-note.py").unlink(missing_ok=True)
        subprocess.run(["ipcrm", "-M", "0x6d6b6974"], capture_output=True)
    assert scores(tmp_path / "out", "a-writer") == POINTS
    assert scores(tmp_path / "out", "b-thief") == POINTS, "the thief should succeed when nothing is hidden"


@pytest.mark.parametrize("hw", ["hw0", "hw1", "hw2", "hw3"])
def test_a_thief_finds_no_reference_of_any_assignment(hw: str, tmp_path: Path) -> None:
    if not namespaces_available():
        pytest.skip("namespace isolation is not available on this machine")
    """Each of the assignment's hidden test files, in its sandbox (its data and model folders
    mounted), runs a thief that searches everything it can see for a reference solution: the
    first test of each file is enough (every stub searches the same filesystem), and keeps the slow
    suite within CI's budget."""
    write(tmp_path / "batch", "thief", thief_for(hw), hw=hw)
    out = tmp_path / "out"
    tests = first_test_of_each_file(hw)
    grade_cli(hw, [tmp_path / "batch"], out, jobs=1, extra=["--isolation", "namespaces", "--tests", ",".join(tests)])
    result = results(out, "thief")
    assert len(result["tests"]) == len(tests) >= 3
    assert result["score"] == 0, [t["name"] for t in result["tests"] if t["score"]]


def first_test_of_each_file(hw: str) -> list[str]:
    names = []
    for path in sorted((REPO_ROOT / "autograder" / hw).glob("test_*.py")):
        names += [line[4:].split("(")[0] for line in path.read_text().splitlines() if line.startswith("def test_")][:1]
    return names


def test_thieves_and_bombs_get_exactly_what_they_deserve(flavour: str, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write(batch, "a-reference", {}, base="solutions")
    write(batch, "b-thief", thief_cells())
    write(batch, "c-bomb", {"accuracy": REPLY_BOMB}, base="solutions")
    alone = tmp_path / "alone"
    shutil.copy(batch / "a-reference.ipynb", (alone.mkdir() or alone) / "a-reference.ipynb")
    grade(batch, tmp_path / "out", jobs=2)
    grade(alone, tmp_path / "out-alone", jobs=1)

    assert scores(tmp_path / "out", "a-reference") == POINTS
    assert scores(tmp_path / "out-alone", "a-reference") == POINTS, "the reference graded alone"
    assert scores(tmp_path / "out", "b-thief") == {t: 0.0 for t in TESTS}, "the thief found the reference"
    bomb = by_test_name(results(tmp_path / "out", "c-bomb"))
    assert {t: bomb[t]["score"] for t in TESTS} == {**POINTS, "test_accuracy": 0.0}
    assert "refused" in bomb["test_accuracy"]["output"], bomb["test_accuracy"]["output"]


def test_a_note_left_behind_reaches_no_later_worker(flavour: str, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write(batch, "a-writer", writer_cells())
    write(batch, "b-reader", thief_cells())
    grade(batch, tmp_path / "out", jobs=1)          # one at a time: the writer has finished first
    assert scores(tmp_path / "out", "a-writer") == POINTS, "the writer is the reference: full marks"
    assert scores(tmp_path / "out", "b-reader") == {t: 0.0 for t in TESTS}, "a note survived a worker"
    assert not any(Path(p, "metakit-note.py").exists() for p in ("/tmp", "/var/tmp", "/dev/shm", Path.home())), \
        "a worker's note reached the grading machine"
