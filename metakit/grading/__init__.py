"""Grading: release with nbgrader, grade with hidden pytest graders in isolated workers.

Hidden graders import from here: ``graded``, ``check``, ``close``, ``fail``, ``partial_credit``,
``as_array``, ``tensor`` and ``Ref`` (see docs/authoring.md).
"""
from metakit.grading.api import as_array, check, close, fail, graded, naming, partial_credit, tensor
from metakit.grading.errors import (
    GradingFailure,
    MissingName,
    PartialCredit,
    StudentCrash,
    StudentError,
    StudentProblem,
    StudentTimeout,
)
from metakit.grading.wire import Ref

__all__ = [
    "as_array", "check", "close", "fail", "graded", "naming", "partial_credit", "tensor", "Ref",
    "GradingFailure", "MissingName", "PartialCredit", "StudentCrash", "StudentError",
    "StudentProblem", "StudentTimeout",
]
