"""Hostile submissions against the sandbox itself, graded through the real CLI (hw_example).

Each asserts the exact score it deserves. A *thief* is the untouched release whose graded
functions look for the reference everywhere a worker might reach it (the kit's git history and
checkout, other processes through /proc, the grader's command line, every submission and cell file
under /tmp) and call it when found: it deserves 0. A *writer* is the reference that also leaves its
code in every writable place (/tmp, /var/tmp, /dev/shm, HOME, the cache, the package folder, the
working folder, SysV shared memory); the *reader* graded after it is the release that looks there:
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
            _os.path.dirname(_sys.modules["metakit"].__file__), _os.getcwd()]


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


def _texts():
    kit = _kit_root()
    found = []
    try:
        found.append(_subprocess.run(["git", "-C", kit, "show", "HEAD:solutions/hw_example/hw_example.ipynb"],
                                     capture_output=True, text=True, timeout=30).stdout)
    except Exception:
        pass
    patterns = [kit + "/solutions/**/*.ipynb", kit + "/.git/**/*.ipynb", "/tmp/**/*.ipynb", "/tmp/**/cells.json",
                "/tmp/**/submission.py", "/proc/*/cwd/**/cells.json", "/proc/*/root/tmp/**/cells.json",
                "/proc/*/root" + kit + "/solutions/**/*.ipynb", "/proc/*/fd/*"]
    for pattern in patterns:
        for path in _glob.glob(pattern, recursive=True)[:200]:
            try:
                with open(path, errors="ignore") as handle:
                    found.append(handle.read(2_000_000))
            except Exception:
                pass
    for cmdline in _glob.glob("/proc/*/cmdline"):
        try:
            args = open(cmdline, "rb").read().split(b"\0")
        except Exception:
            continue
        for arg in args:
            arg = arg.decode(errors="ignore")
            if arg.endswith(".ipynb") or _os.path.isdir(arg):
                for path in ([arg] if arg.endswith(".ipynb") else _glob.glob(arg + "/**/*.ipynb", recursive=True)[:50]):
                    try:
                        found.append(open(path).read())
                    except Exception:
                        pass
    for place in _note_places():
        try:
            found.append(open(_os.path.join(place, _NOTE)).read())
        except Exception:
            pass
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


def _steal(name):
    for text in _texts():
        for source in _sources(text):
            if ("def " + name + "(") not in source or "NotImplementedError" in source or "_steal" in source:
                continue
            namespace = {}
            try:
                exec(source, namespace)
            except Exception:
                continue
            if callable(namespace.get(name)):
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
    pipes = [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2
             and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")]
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
    cells = {}
    for name in GRADED:
        cells[name] = (LOOK_EVERYWHERE if name == "softmax" else "") + f'''
def {name}(*args, **kwargs):
    found = _steal("{name}")
    if found is None:
        raise NotImplementedError("nothing to steal")
    return found(*args, **kwargs)
'''
    return cells


def writer_cells() -> dict[str, str]:
    """The reference, plus notes of its code left everywhere when softmax is first called."""
    reference = reference_cells()
    code = "\n".join(reference[name] for name in GRADED)
    cells = dict(reference)
    cells["softmax"] = LOOK_EVERYWHERE + LEAVE_NOTES + reference["softmax"].replace(
        '"""\n', f'"""\n    _leave_notes({code!r})\n', 1)
    return cells


def write(folder: Path, name: str, cells: dict[str, str], base: str = "release") -> Path:
    template = REPO_ROOT / ("assignments" if base == "release" else "solutions") / HW / f"{HW}.ipynb"
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


def grade(folder: Path, out: Path, jobs: int) -> None:
    grade_cli(HW, [folder], out, jobs=jobs, extra=["--tests", ",".join(TESTS), "--isolation", "namespaces"])


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
