"""The pytest plugin that runs hidden graders against one submission (``-p metakit.grading.plugin``).

It gives tests the ``student`` fixture (a :class:`~metakit.grading.session.StudentSession` with
the limits of the test's ``@graded`` mark) and writes one JSON record per test: points earned,
the message for the student, and, for the instructor only, the details. It runs in the grading
process, which never imports student code.

A failure on the grading side (a :class:`GraderError`, a broken fixture, a missing file or module,
a bug in the hidden test) is recorded as a grader error: zero points pending a regrade, a message
that tells the student it is not their fault, and the cause for the instructor.
"""
from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

import pytest

from metakit.grading.errors import GRADER_ERROR_MESSAGE, GraderError, GradingFailure, PartialCredit, StudentProblem
from metakit.grading.records import TestRecord, TestSpec
from metakit.grading.sandbox import Limits, SandboxConfig, Zygote, choose_isolation, worker_seed
from metakit.grading.session import StudentSession

# Exceptions raised by grader code itself (not by checking a value the student sent): grader errors.
GRADER_SIDE = (GraderError, OSError, ImportError, NameError, SyntaxError, RecursionError)

_RECORDS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("metakit", "metakit hidden graders")
    group.addoption("--metakit-submission", default=None, help="folder with cells.json and intake.json")
    group.addoption("--metakit-results", default=None, help="where to write the per-test JSON records")
    group.addoption("--metakit-hide", action="append", default=[], help="path the worker must not see")
    group.addoption("--metakit-data", action="append", default=[], help="data path the worker may read")
    group.addoption("--metakit-isolation", default="auto", choices=["auto", "namespaces", "process"])
    group.addoption("--metakit-workers", default="fork", choices=["fork", "fresh"],
                    help="fork each test's worker from a zygote, or start a fresh interpreter")
    group.addoption("--metakit-zygote-fd", type=int, default=None,
                    help="control socket of a zygote the runner lends this run (else the run starts its own)")
    group.addoption("--metakit-zygote-log", default=None, help="that zygote's log file")
    group.addoption("--metakit-preload", action="append", default=[],
                    help="module (or module:function) the zygote imports (calls) before it forks workers")
    group.addoption("--metakit-env", action="append", default=[],
                    help="NAME=FOLDER set in every worker's environment (an assignment's [shared] folder)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "metakit(points, timeout, memory_mb, visibility, threads): a graded test")
    config.stash[_RECORDS_KEY] = {}


def test_spec(item: pytest.Item) -> TestSpec:
    """Name, title, points and limits of a hidden test, from its ``@graded`` mark."""
    mark = item.get_closest_marker("metakit")
    kwargs = dict(mark.kwargs) if mark else {}
    doc = (getattr(item, "function", None).__doc__ or "").strip() if hasattr(item, "function") else ""
    limits = {key: kwargs[key] for key in ("timeout", "memory_mb", "threads", "visibility") if key in kwargs}
    return TestSpec(name=item.name, file=Path(str(item.fspath)).name,
                    title=doc.splitlines()[0] if doc else item.name.replace("_", " "),
                    max_points=kwargs.get("points", 0.0), graded=mark is not None, **limits)  # TestSpec's defaults


@pytest.fixture
def student(request: pytest.FixtureRequest):
    config = request.config
    folder = config.getoption("--metakit-submission")
    if not folder:
        pytest.fail("the student fixture needs --metakit-submission", pytrace=False)
    spec = test_spec(request.node)
    limits = Limits(wall_s=spec.timeout, memory_mb=spec.memory_mb, threads=spec.threads)
    sandbox = _sandbox(config)
    intake_file = Path(folder) / "intake.json"
    load_report = json.loads(intake_file.read_text()) if intake_file.exists() else {}
    session = StudentSession(Path(folder) / "cells.json", limits, sandbox, mode=_mode(config),
                             seed=worker_seed(request.node.nodeid), load_report=load_report,
                             zygote=_zygote(config))
    request.node.stash[_SESSION_KEY] = session
    yield session
    session.close()


_SESSION_KEY = pytest.StashKey[StudentSession]()
_SANDBOX_KEY = pytest.StashKey[SandboxConfig]()
_MODE_KEY = pytest.StashKey[str]()
_ZYGOTE_KEY = pytest.StashKey["Zygote | None"]()


def _zygote(config: pytest.Config) -> "Zygote | None":
    """This submission's fork server: the one the runner lent (``--metakit-zygote-fd``), else one
    started on first use; None for fresh workers, or when it could not start (then every test
    starts a fresh worker, and the log says why)."""
    if _ZYGOTE_KEY not in config.stash:
        zygote = None
        lent = config.getoption("--metakit-zygote-fd")
        if config.getoption("--metakit-workers") == "fork":
            try:
                zygote = Zygote.attach(lent, Path(config.getoption("--metakit-zygote-log") or "")) \
                    if lent is not None else Zygote(_sandbox(config), _mode(config))
            except GraderError as exc:
                print(f"metakit: no zygote ({exc}); each test starts a fresh worker\n{exc.output_tail}")
        config.stash[_ZYGOTE_KEY] = zygote
    return config.stash[_ZYGOTE_KEY]


def _sandbox(config: pytest.Config) -> SandboxConfig:
    if _SANDBOX_KEY not in config.stash:
        config.stash[_SANDBOX_KEY] = SandboxConfig(
            hidden_paths=[Path(p) for p in config.getoption("--metakit-hide")],
            data_paths=[Path(p) for p in config.getoption("--metakit-data")],
            isolation=config.getoption("--metakit-isolation"),
            workers=config.getoption("--metakit-workers"),
            preload=list(config.getoption("--metakit-preload")),
            env=dict(entry.split("=", 1) for entry in config.getoption("--metakit-env")))
    return config.stash[_SANDBOX_KEY]


def _mode(config: pytest.Config) -> str:
    """The isolation of this run: as the runner resolved it, or probed once here for ``auto``."""
    if _MODE_KEY not in config.stash:
        sandbox = _sandbox(config)
        config.stash[_MODE_KEY] = sandbox.isolation if sandbox.isolation != "auto" else choose_isolation(sandbox)
    return config.stash[_MODE_KEY]


def classify(excinfo: pytest.ExceptionInfo | None, max_points: float, when: str = "call") -> tuple[float, str, str, bool]:
    """(points, message for the student, details for the instructor, grader error?) of one test."""
    if excinfo is None:
        return max_points, "", "", False
    exc = excinfo.value
    details = "".join(traceback.format_exception(excinfo.type, exc, excinfo.tb))
    if isinstance(exc, PartialCredit):
        return round(max_points * exc.fraction, 4), str(exc), "", False
    if isinstance(exc, GraderError):
        tail = exc.output_tail.strip()
        return 0.0, GRADER_ERROR_MESSAGE, f"grader error: {exc}\n" + (f"worker output (tail):\n{tail}\n" if tail else "") + details, True
    if isinstance(exc, (GradingFailure, StudentProblem)):
        detail = getattr(exc, "output_tail", "")
        return 0.0, str(exc), (f"worker output (tail):\n{detail}" if detail else ""), False
    if isinstance(exc, pytest.skip.Exception):
        return 0.0, f"not graded: {exc.msg}", "", False
    if when == "setup" or isinstance(exc, GRADER_SIDE):
        return 0.0, GRADER_ERROR_MESSAGE, f"grader error in {when}: {type(exc).__name__}: {exc}\n{details}", True
    message = (f"the grader could not check what your code returned ({type(exc).__name__}: "
               f"{str(exc)[:300]}). Check the types and shapes your code returns.")
    return 0.0, message, details, False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    records = item.config.stash[_RECORDS_KEY]
    spec = test_spec(item)
    if call.when == "setup" and report.passed:
        item.stash[_START_KEY] = time.monotonic()
        return
    if call.when == "teardown" or (call.when == "setup" and not report.failed and not report.skipped):
        return
    if item.nodeid in records:
        return
    points, message, details, grader_error = classify(call.excinfo, spec.max_points, call.when)
    if not spec.graded:
        points, message = 0.0, "this hidden test has no @graded mark (instructor: add one)"
    started = item.stash.get(_START_KEY, time.monotonic())
    session = item.stash.get(_SESSION_KEY, None)
    tails = session.output_so_far() if session is not None else ""
    details += f"\nworker output (tail):\n{tails[-2000:]}" if tails else ""
    records[item.nodeid] = TestRecord.ran(spec, points, message, details, grader_error,
                                          time.monotonic() - started, full=call.excinfo is None)


_START_KEY = pytest.StashKey[float]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_RECORDS_KEY]["__collected__"] = [test_spec(item) for item in items]


def pytest_sessionfinish(session: pytest.Session) -> None:
    zygote = session.config.stash.get(_ZYGOTE_KEY, None)
    if zygote is not None:
        zygote.close()
    target = session.config.getoption("--metakit-results")
    if not target:
        return
    records = dict(session.config.stash[_RECORDS_KEY])
    collected = records.pop("__collected__", [])
    Path(target).write_text(json.dumps({"collected": [spec.to_dict() for spec in collected],
                                        "tests": [record.to_dict() for record in records.values()]}, indent=1))
