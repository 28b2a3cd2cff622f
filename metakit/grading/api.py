"""What a hidden grader test imports: ``graded``, the checks, and ``tensor``.

See docs/authoring.md. Every function here runs in the grading process; nothing here ever sees
student code, only the plain data a worker sent back.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

from metakit.grading.errors import GradingFailure, PartialCredit
from metakit.grading.records import TestSpec
from metakit.grading.wire import Ref, tensor  # noqa: F401 - re-exported for graders

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
_DEFAULTS = TestSpec(name="", file="", title="", max_points=0.0)  # the one place the limits' defaults live


def graded(points: float, timeout: float = _DEFAULTS.timeout, memory_mb: int = _DEFAULTS.memory_mb,
           visibility: str = _DEFAULTS.visibility, threads: int = _DEFAULTS.threads) -> Callable:
    """Declare a hidden test's points and limits; the ``student`` fixture obeys them."""
    if points < 0 or timeout <= 0:
        raise ValueError("points must be >= 0 and timeout > 0")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}")
    return pytest.mark.metakit(points=float(points), timeout=float(timeout), memory_mb=int(memory_mb),
                               visibility=visibility, threads=int(threads))


def fail(message: str) -> None:
    raise GradingFailure(message)


def check(condition: Any, message: str) -> None:
    """Fail the test with ``message`` unless ``condition`` is truthy (a plain bool, computed here)."""
    if not bool(condition):
        raise GradingFailure(message)


class Naming:
    """``check``, ``fail``, ``close`` and ``as_array`` for a grader file whose tests are all about one
    student function: every message they give starts with ``"function: "`` unless it already names
    it, so the feedback always says where to look (see :func:`naming`)."""

    def __init__(self, function: str) -> None:
        self.function = function

    def named(self, message: str) -> str:
        return message if self.function in message else f"{self.function}: {message}"

    def check(self, condition: Any, message: str) -> None:
        check(condition, self.named(message))

    def fail(self, message: str) -> None:
        fail(self.named(message))

    def close(self, actual: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4, what: str = "the result") -> None:
        close(actual, expected, atol=atol, rtol=rtol, what=self.named(what))

    def as_array(self, value: Any, what: str, shape: tuple | None = None, dtype: Any = np.float64) -> np.ndarray:
        return as_array(value, self.named(what), shape=shape, dtype=dtype)


def naming(function: str) -> tuple[Callable, Callable, Callable, Callable]:
    """``check, fail, close, as_array = naming("mann_loss")`` after a grader file's imports: the four
    checks, each message naming ``function`` (:class:`Naming`)."""
    named = Naming(function)
    return named.check, named.fail, named.close, named.as_array


def partial_credit(fraction: float, message: str) -> None:
    raise PartialCredit(fraction, message)


def as_array(value: Any, what: str, shape: tuple | None = None, dtype: Any = np.float64) -> np.ndarray:
    """``value`` as a numpy array, or a failure that says what came back instead."""
    if isinstance(value, Ref):
        fail(f"{what} should be a tensor or an array; your code returned a {value.type}")
    if isinstance(value, (list, tuple)) and value and any(isinstance(v, Ref) for v in value):
        fail(f"{what} should be a tensor or an array; your code returned a {type(value).__name__} "
             f"holding non-numeric objects")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        fail(f"{what} should be a tensor or an array; your code returned {type(value).__name__}")
    if shape is not None and tuple(array.shape) != tuple(shape):
        fail(f"{what} should have shape {list(shape)}; yours has shape {list(array.shape)}")
    return array


def close(actual: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4, what: str = "the result") -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise; the message says by how much."""
    expected = np.asarray(expected, dtype=np.float64)
    got = as_array(actual, what, shape=expected.shape)
    if np.isnan(got).any() and not np.isnan(expected).any():
        fail(f"{what} contains NaN ({int(np.isnan(got).sum())} of {got.size} values)")
    if np.isinf(got).any() and not np.isinf(expected).any():
        fail(f"{what} contains inf ({int(np.isinf(got).sum())} of {got.size} values)")
    if not np.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
        diff = np.abs(got - expected)
        worst = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.ndim else ()
        fail(
            f"{what} is not what it should be: the largest difference is {np.nanmax(diff):.4g} at "
            f"index {list(map(int, worst))} (yours {got[worst]:.6g}, expected {expected[worst]:.6g}; "
            f"tolerance atol={atol:g}, rtol={rtol:g})"
        )
