"""The course gradebook in Canvas's gradebook import layout.

What is assumed, from Canvas's documentation of gradebook CSV import/export:

* the header is ``Student,ID,SIS User ID,SIS Login ID,Section`` followed by one column per
  assignment, named ``<Assignment> (<Canvas assignment id>)``; a column without ``(<id>)``
  makes Canvas create a new assignment on import;
* the first row after the header is ``Points Possible`` (in the Student column, the other
  identity columns empty) with each assignment's maximum: Canvas reads it and never imports it
  as a student;
* an empty cell is "no grade" (Canvas leaves it as is), which is how a missing submission is
  written; scores are plain numbers.

The roster (``--roster``) is Canvas's own gradebook export (or any CSV with its identity columns
``Student, ID, SIS User ID, SIS Login ID, Section``): a kit student name (the nbgrader student id,
the submission folder's name) is matched to the roster's ``SIS Login ID`` column by default
(``--roster-key`` for another). Its assignment ids are taken from columns of the export named
``<hw> (<id>)``; ``--canvas-id hw1=123`` gives or overrides one.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from metakit.grading.gradebook import CourseTable, write_rows_atomically

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
REQUIRED = ["Student", "ID"]
POINTS_POSSIBLE = "Points Possible"
ASSIGNMENT_COLUMN = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)$")


@dataclass
class Roster:
    """Canvas identities by kit student name, and the Canvas ids of assignments found in the file."""

    path: Path
    people: dict[str, dict[str, str]]  # kit student -> {identity column: value}
    assignment_ids: dict[str, str]


def read_roster(path: Path, key: str = "SIS Login ID") -> Roster:
    """Read a Canvas roster/export; a ValueError naming the file and row when it is malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the roster ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    lacking = [c for c in [*REQUIRED, key] if c not in header]
    if lacking:
        raise ValueError(f"{path}: the roster has no column {', '.join(repr(c) for c in lacking)} "
                         f"(expected Canvas's {', '.join(IDENTITY)}); its header is {header}")
    ids = {m["name"]: m["id"] for m in map(ASSIGNMENT_COLUMN.match, header) if m}
    people: dict[str, dict[str, str]] = {}
    for row_number, raw in enumerate(reader, start=2):
        if None in raw:
            raise ValueError(f"{path}, row {row_number}: more fields than the header has")
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if row["Student"] == POINTS_POSSIBLE or not any(row.values()):
            continue
        student = row.get(key, "")
        if not student:
            raise ValueError(f"{path}, row {row_number}: no {key} for {row['Student'] or 'this student'!r}")
        if not row["ID"]:
            raise ValueError(f"{path}, row {row_number}: {student!r} has no Canvas ID")
        if student in people:
            raise ValueError(f"{path}, row {row_number}: {key} {student!r} appears twice")
        people[student] = {c: row.get(c, "") for c in IDENTITY}
    return Roster(Path(path), people, ids)


def parse_canvas_ids(pairs: list[str]) -> dict[str, str]:
    """``["hw1=123", ...]`` as {hw: id}; a ValueError for anything else."""
    ids = {}
    for pair in pairs:
        hw, _, number = pair.partition("=")
        if not hw.strip() or not number.strip().isdigit():
            raise ValueError(f"--canvas-id {pair!r}: write it HW=ID, e.g. hw1=12345")
        ids[hw.strip()] = number.strip()
    return ids


def write_canvas_csv(table: CourseTable, roster: Roster, path: Path, ids: dict[str, str] | None = None) -> None:
    """The Canvas import file; every graded student must be on the roster (else nothing is written)."""
    unknown = [s for s in table.students if s not in roster.people]
    if unknown:
        raise ValueError(f"{roster.path}: no roster row for {', '.join(map(repr, unknown))}, who have grades; "
                         f"add them (or check the roster's key column) before exporting to Canvas")
    ids = {**roster.assignment_ids, **(ids or {})}
    columns = [f"{a.hw} ({ids[a.hw]})" if a.hw in ids else a.hw for a in table.assignments]
    rows = [[*IDENTITY, *columns], [POINTS_POSSIBLE, "", "", "", "", *(f"{a.max_score:g}" for a in table.assignments)]]
    for student, person in sorted(roster.people.items(), key=lambda item: item[1]["Student"]):
        scores = [table.score(student, a.hw) for a in table.assignments]
        rows.append([*(person[c] for c in IDENTITY), *("" if s is None else f"{s:g}" for s in scores)])
    write_rows_atomically(rows, path)
