"""metakit.grading's checks as a hidden grader calls them: ``check``, ``fail``, ``close``,
``as_array``, ``partial_credit``, ``naming`` and ``graded``'s defaults."""
from __future__ import annotations

import numpy as np
import pytest

from metakit.grading import as_array, check, close, fail, graded, naming, partial_credit
from metakit.grading.errors import GradingFailure, PartialCredit
from metakit.grading.records import TestSpec


def test_check_and_fail_raise_a_grading_failure_with_the_message() -> None:
    check(True, "never shown")
    with pytest.raises(GradingFailure, match="^the loss is negative$"):
        check(np.float64(0.0), "the loss is negative")
    with pytest.raises(GradingFailure, match="^no answer$"):
        fail("no answer")
    with pytest.raises(PartialCredit) as caught:
        partial_credit(0.5, "half")
    assert caught.value.fraction == 0.5


def test_naming_puts_the_function_at_fault_in_every_message_once() -> None:
    named_check, named_fail, named_close, named_as_array = naming("mann_loss")
    named_check(True, "never shown")
    with pytest.raises(GradingFailure, match=r"^mann_loss: only row K, the query row, is scored$"):
        named_check(False, "only row K, the query row, is scored")
    with pytest.raises(GradingFailure, match=r"^mann_loss should return a scalar$"):
        named_check(False, "mann_loss should return a scalar")   # named already: left as it is
    with pytest.raises(GradingFailure, match=r"^mann_loss: no answer$"):
        named_fail("no answer")
    named_close([1.0], np.array([1.0]))
    with pytest.raises(GradingFailure, match=r"^mann_loss: the loss .*differ"):
        named_close([2.0], np.array([1.0]), what="the loss")
    assert named_as_array([1, 2], "x").tolist() == [1.0, 2.0]
    with pytest.raises(GradingFailure, match=r"^mann_loss: the gradient"):
        named_as_array([1, 2, 3], "the gradient", shape=(2,))


def test_close_and_as_array_say_what_differs() -> None:
    close([1.0, 2.0], np.array([1.0, 2.0 + 1e-7]))
    with pytest.raises(GradingFailure, match="the scores"):
        close([1.0, 2.5], np.array([1.0, 2.0]), what="the scores")
    assert as_array([1, 2], "x").dtype == np.float64
    with pytest.raises(GradingFailure):
        as_array([1, 2, 3], "x", shape=(2,))


def test_graded_takes_its_defaults_from_the_test_spec() -> None:
    mark = graded(points=2).mark
    spec = TestSpec(name="t", file="f", title="t", max_points=2.0)
    assert mark.kwargs == {"points": 2.0, "timeout": spec.timeout, "memory_mb": spec.memory_mb,
                           "visibility": spec.visibility, "threads": spec.threads}
    with pytest.raises(ValueError):
        graded(points=-1)
    with pytest.raises(ValueError, match="visibility"):
        graded(points=1, visibility="secret")
