"""The course gradebook written into nbgrader's ``gradebook.db``, through nbgrader's own API
(:class:`nbgrader.api.Gradebook`), so that formgrader and ``nbgrader export`` show it.

Each assignment ``hw`` becomes an nbgrader assignment with one notebook ``hw`` holding one code
grade cell per hidden test (named after the test, ``max_score`` its points); each student with a
submission becomes a student and a submission whose grades carry the test's points as
``auto_score`` (``manual_score`` is left to the instructor, who may override in formgrader). The
late policy's result goes where nbgrader keeps it: the submission's ``timestamp`` and the
notebook's ``late_submission_penalty`` (in points). Running it again updates the same rows.
An assignment nbgrader already knows (from ``nbgrader generate_assignment``) keeps its cells; the
test cells are added next to them.
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Iterator

from metakit.grading.gradebook import AssignmentGrades, CourseTable


def write_nbgrader_gradebook(table: CourseTable, db_path: Path, course_id: str = "") -> None:
    """Add or update every assignment, student and score of ``table`` in ``db_path`` (sqlite)."""
    from nbgrader.api import Gradebook

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    from sqlalchemy.exc import SAWarning

    with _scripts_on_path(), Gradebook(f"sqlite:///{Path(db_path).resolve()}", course_id=course_id) as gradebook, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission builds objects before adding them
        for assignment in table.assignments:
            _write_assignment(gradebook, assignment)


@contextlib.contextmanager
def _scripts_on_path() -> Iterator[None]:
    """nbgrader runs ``alembic`` by name when it creates a database: this interpreter's scripts first."""
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), saved])
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def _write_assignment(gradebook, assignment: AssignmentGrades) -> None:
    hw = assignment.hw
    gradebook.update_or_create_assignment(hw)
    gradebook.update_or_create_notebook(hw, hw)
    for test in assignment.tests:
        gradebook.update_or_create_grade_cell(test["name"], hw, hw, max_score=float(test["max_points"]),
                                              cell_type="code")
    for student, result in assignment.results.items():
        gradebook.update_or_create_student(student)
        extra = {"timestamp": result.submitted_at} if result.submitted_at else {}
        gradebook.update_or_create_submission(hw, student, **extra)
        notebook = gradebook.find_submission_notebook(hw, hw, student)
        notebook.late_submission_penalty = round(result.total * result.late_penalty, 4) or None
        for test in assignment.tests:
            grade = _grade(gradebook, test["name"], hw, student, notebook)
            grade.auto_score = result.tests.get(test["name"], 0.0)
        gradebook.db.commit()


def _grade(gradebook, cell: str, hw: str, student: str, notebook):
    """The student's grade of ``cell``, created when the submission predates the cell."""
    from nbgrader.api import Grade, MissingEntry

    try:
        return gradebook.find_grade(cell, hw, hw, student)
    except MissingEntry:
        grade = Grade(cell_id=gradebook.find_grade_cell(cell, hw, hw).id, notebook=notebook)
        gradebook.db.add(grade)
        return grade
