"""The pytest plugin that runs hidden graders against one submission (``-p metakit.grading.plugin``).

It gives tests the ``student`` fixture (a :class:`~metakit.grading.sandbox.StudentSession` with
the limits of the test's ``@graded`` mark) and writes one JSON record per test: points earned,
the message for the student, and, for the instructor only, the details. It runs in the grading
process, which never imports student code.
"""
from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

import pytest

from metakit.grading.errors import GradingFailure, PartialCredit, StudentProblem
from metakit.grading.sandbox import Limits, SandboxConfig, StudentSession, worker_seed

_RECORDS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("metakit", "metakit hidden graders")
    group.addoption("--metakit-submission", default=None, help="folder with cells.json and intake.json")
    group.addoption("--metakit-results", default=None, help="where to write the per-test JSON records")
    group.addoption("--metakit-hide", action="append", default=[], help="path the worker must not see")
    group.addoption("--metakit-isolation", default="auto", choices=["auto", "namespaces", "process"])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "metakit(points, timeout, memory_mb, visibility, threads): a graded test")
    config.stash[_RECORDS_KEY] = {}


def test_spec(item: pytest.Item) -> dict:
    """Name, title, points and limits of a hidden test, from its ``@graded`` mark."""
    mark = item.get_closest_marker("metakit")
    kwargs = dict(mark.kwargs) if mark else {}
    doc = (getattr(item, "function", None).__doc__ or "").strip() if hasattr(item, "function") else ""
    return {
        "name": item.name,
        "file": Path(str(item.fspath)).name,
        "title": doc.splitlines()[0] if doc else item.name.replace("_", " "),
        "max_points": kwargs.get("points", 0.0),
        "timeout": kwargs.get("timeout", 30.0),
        "memory_mb": kwargs.get("memory_mb", 3072),
        "threads": kwargs.get("threads", 1),
        "visibility": kwargs.get("visibility", "visible"),
        "graded": mark is not None,
    }


@pytest.fixture
def student(request: pytest.FixtureRequest):
    config = request.config
    folder = config.getoption("--metakit-submission")
    if not folder:
        pytest.fail("the student fixture needs --metakit-submission", pytrace=False)
    spec = test_spec(request.node)
    limits = Limits(wall_s=spec["timeout"], memory_mb=spec["memory_mb"], threads=spec["threads"])
    sandbox = SandboxConfig(hidden_paths=[Path(p) for p in config.getoption("--metakit-hide")],
                            isolation=config.getoption("--metakit-isolation"))
    intake_file = Path(folder) / "intake.json"
    load_report = json.loads(intake_file.read_text()) if intake_file.exists() else {}
    session = StudentSession(Path(folder) / "cells.json", limits, sandbox,
                             seed=worker_seed(request.node.nodeid), load_report=load_report)
    request.node.stash[_SESSION_KEY] = session
    yield session
    session.close()


_SESSION_KEY = pytest.StashKey[StudentSession]()


def classify(excinfo: pytest.ExceptionInfo | None, max_points: float) -> tuple[float, str, str]:
    """(points, message for the student, details for the instructor) of one finished test."""
    if excinfo is None:
        return max_points, "", ""
    exc = excinfo.value
    if isinstance(exc, PartialCredit):
        return round(max_points * exc.fraction, 4), str(exc), ""
    if isinstance(exc, (GradingFailure, StudentProblem)):
        detail = getattr(exc, "output_tail", "")
        return 0.0, str(exc), (f"worker output (tail):\n{detail}" if detail else "")
    if isinstance(exc, pytest.skip.Exception):
        return 0.0, f"not graded: {exc.msg}", ""
    details = "".join(traceback.format_exception(excinfo.type, exc, excinfo.tb))
    message = (f"the grader could not check what your code returned ({type(exc).__name__}: "
               f"{str(exc)[:300]}). Check the types and shapes your code returns.")
    return 0.0, message, details


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
    points, message, details = classify(call.excinfo, spec["max_points"])
    if not spec["graded"]:
        points, message = 0.0, "this hidden test has no @graded mark (instructor: add one)"
    started = item.stash.get(_START_KEY, time.monotonic())
    session = item.stash.get(_SESSION_KEY, None)
    tails = session.output_so_far() if session is not None else ""
    records[item.nodeid] = {
        **spec,
        "points": points,
        "passed": points >= spec["max_points"] and call.excinfo is None,
        "message": message,
        "instructor_details": details + (f"\nworker output (tail):\n{tails[-2000:]}" if tails else ""),
        "execution_time": round(time.monotonic() - started, 3),
    }


_START_KEY = pytest.StashKey[float]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_RECORDS_KEY]["__collected__"] = [test_spec(item) for item in items]


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--metakit-results")
    if not target:
        return
    records = dict(session.config.stash[_RECORDS_KEY])
    collected = records.pop("__collected__", [])
    Path(target).write_text(json.dumps({"collected": collected, "tests": list(records.values())}, indent=1))
