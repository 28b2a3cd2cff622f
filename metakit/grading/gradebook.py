"""The course gradebook: every assignment's ``grades.csv`` joined into one row per student.

Each input is a folder written by ``python -m metakit grade HW ... --out DIR``: its ``grades.csv``
(a row per student; the score is ``final``, the score after the late penalty, where the late
policy filled it in, else ``total``) and its ``meta.json`` (the assignment's name, its tests with
their points, who had no notebook). The joined table has a column per assignment (in the order
given) and a total; an assignment a student has no submission for is left empty, never 0, and
listed. Nothing is written until every input has been read and checked.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

GRADES_FILE, META_FILE = "grades.csv", "meta.json"

@dataclass
class StudentResult:
    """One student's result on one assignment."""

    score: float  # after the late penalty, where there is one
    tests: dict[str, float]  # points per hidden test
    submitted_at: str = ""
    late_penalty: float = 0.0  # fraction of ``total`` taken away
    total: float = 0.0  # before the late penalty


@dataclass
class AssignmentGrades:
    """One ``grade --out`` folder: the assignment, its tests and every student's result."""

    hw: str
    folder: Path
    max_score: float
    tests: list[dict]  # {"name", "max_points", ...} from meta.json
    results: dict[str, StudentResult] = field(default_factory=dict)  # students with a submission
    absent: list[str] = field(default_factory=list)  # students in grades.csv with no notebook


@dataclass
class CourseTable:
    """The joined gradebook: students (sorted) and assignments (in the order given)."""

    assignments: list[AssignmentGrades]
    students: list[str]

    def score(self, student: str, hw: str) -> float | None:
        result = self._by_hw()[hw].results.get(student)
        return None if result is None else result.score

    def missing(self, student: str) -> list[str]:
        return [a.hw for a in self.assignments if student not in a.results]

    def total(self, student: str) -> float:
        return round(sum(self.score(student, a.hw) or 0.0 for a in self.assignments), 4)

    def max_total(self) -> float:
        return round(sum(a.max_score for a in self.assignments), 4)

    def _by_hw(self) -> dict[str, AssignmentGrades]:
        return {a.hw: a for a in self.assignments}


# --------------------------------------------------------------------------- reading
def read_grades_dir(folder: Path) -> AssignmentGrades:
    """One ``grade --out`` folder; a ValueError naming the file (and row) when it is not one."""
    folder = Path(folder)
    grades, meta_path = folder / GRADES_FILE, folder / META_FILE
    if not grades.is_file():
        raise ValueError(f"{folder}: no {GRADES_FILE} (is it a folder written by `python -m metakit grade --out`?)")
    if not meta_path.is_file():
        raise ValueError(f"{folder}: no {META_FILE} (regrade with this version of `metakit grade`, which writes it)")
    try:
        meta = json.loads(meta_path.read_text())
        hw, tests, max_score = str(meta["hw"]), list(meta["tests"]), float(meta["max_score"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{meta_path}: not a metakit meta.json ({exc})") from None
    absent, seen = set(meta.get("no_submission", [])), set()
    assignment = AssignmentGrades(hw, folder, max_score, tests)
    for row_number, row in _rows(grades):
        student = row["student"]
        if student in seen:
            raise ValueError(f"{grades}, row {row_number}: student {student!r} appears twice")
        seen.add(student)
        if student in absent:  # a student with no notebook has no result, not a 0
            assignment.absent.append(student)
        else:
            assignment.results[student] = _result(row, tests, grades, row_number)
    return assignment


def _rows(path: Path):
    try:
        reader = csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it ({exc})") from None
    if not reader.fieldnames or not {"student", "total"} <= set(reader.fieldnames):
        raise ValueError(f"{path}: not a metakit grades.csv (its header has no student and total columns)")
    for row_number, row in enumerate(reader, start=2):
        if None in row or not (row.get("student") or "").strip():
            raise ValueError(f"{path}, row {row_number}: {'no student' if None not in row else 'too many fields'}")
        yield row_number, {k: (v or "").strip() for k, v in row.items()}


def _result(row: dict[str, str], tests: list[dict], path: Path, row_number: int) -> StudentResult:
    def number(column: str) -> float:
        try:
            return float(row[column])
        except (KeyError, ValueError):
            raise ValueError(f"{path}, row {row_number} ({row['student']}): {column} is {row.get(column)!r}, "
                             f"not a number") from None

    total = number("total")
    score = number("final") if row.get("final") else total
    penalty = number("late_penalty") if row.get("late_penalty") else 0.0
    points = {t["name"]: number(t["name"]) for t in tests if t["name"] in row}
    return StudentResult(score, points, row.get("submitted_at", ""), penalty, total)


def join(assignments: list[AssignmentGrades], also: list[str] | None = None) -> CourseTable:
    """Every student of any assignment (and of ``also``, a roster) with their results."""
    hws = [a.hw for a in assignments]
    repeated = sorted({hw for hw in hws if hws.count(hw) > 1})
    if repeated:
        folders = ", ".join(str(a.folder) for a in assignments if a.hw in repeated)
        raise ValueError(f"{', '.join(repeated)} is given twice ({folders}): give one folder per assignment")
    students = {s for a in assignments for s in [*a.results, *a.absent]} | set(also or [])
    return CourseTable(assignments, sorted(students))


# --------------------------------------------------------------------------- writing
def write_course_csv(table: CourseTable, path: Path) -> None:
    """``student, <hw>..., total, missing``: a score per assignment (empty when not submitted)."""
    rows = [["student", *(a.hw for a in table.assignments), "total", "missing"]]
    for student in table.students:
        scores = [table.score(student, a.hw) for a in table.assignments]
        rows.append([student, *("" if s is None else f"{s:g}" for s in scores), f"{table.total(student):g}",
                     " ".join(table.missing(student))])
    write_rows_atomically(rows, path)


def write_rows_atomically(rows: list[list[str]], path: Path) -> None:
    """Write a CSV next to ``path`` and move it into place: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    os.replace(temporary, path)


def missing_report(table: CourseTable) -> list[str]:
    """A line per student with a missing submission: ``alice: hw1, hw2``."""
    return [f"{s}: {', '.join(table.missing(s))}" for s in table.students if table.missing(s)]
