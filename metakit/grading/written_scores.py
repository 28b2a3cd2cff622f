"""Scores of written answers: the CSV a grader fills (student, question, points, comment), its
validation, and the book of imported scores that the reports read (``written.json`` in a grades folder).

A question with no score is *not graded yet*: the reports leave it empty, never 0 earned.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

COLUMNS = ("student", "question", "points", "comment")
UNANSWERED = "unanswered"
BOOK_FILE = "written.json"


class ScoresError(ValueError):
    """A scores CSV that cannot be imported; the message names the file and the row."""


@dataclass(frozen=True)
class WrittenScore:
    points: float
    comment: str = ""


@dataclass(frozen=True)
class QuestionMax:
    """What the reports need of a question: its id, a title and its points."""

    grade_id: str
    title: str
    points: float


@dataclass
class WrittenBook:
    """The written questions of an assignment and the scores imported so far, by student and grade_id."""

    questions: list[QuestionMax]
    scores: dict[str, dict[str, WrittenScore]] = field(default_factory=dict)

    @property
    def max_points(self) -> float:
        return round(sum(q.points for q in self.questions), 4)

    def of(self, student: str) -> dict[str, WrittenScore]:
        """The student's scores on this book's questions (graded ones only)."""
        known = {q.grade_id for q in self.questions}
        return {gid: s for gid, s in self.scores.get(student, {}).items() if gid in known}

    def earned(self, student: str) -> float | None:
        """Points earned on the graded questions; None when none is graded yet."""
        scores = self.of(student)
        return round(sum(s.points for s in scores.values()), 4) if scores else None

    def graded_max(self, student: str) -> float:
        """The points of the questions graded so far for ``student``."""
        scores = self.of(student)
        return round(sum(q.points for q in self.questions if q.grade_id in scores), 4)

    def merged(self, new: dict[str, dict[str, WrittenScore]]) -> WrittenBook:
        """A copy with ``new`` scores added; a (student, question) scored again takes the new score."""
        scores = {student: dict(by_question) for student, by_question in self.scores.items()}
        for student, by_question in new.items():
            scores.setdefault(student, {}).update(by_question)
        return WrittenBook(list(self.questions), scores)

    def to_json(self) -> str:
        return json.dumps({"questions": [asdict(q) for q in self.questions],
                           "scores": {s: {g: asdict(v) for g, v in by.items()} for s, by in sorted(self.scores.items())}},
                          indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> WrittenBook:
        data = json.loads(text)
        return cls([QuestionMax(**q) for q in data["questions"]],
                   {s: {g: WrittenScore(**v) for g, v in by.items()} for s, by in data["scores"].items()})


def maxima(path: Path) -> list[QuestionMax]:
    """The written questions of a notebook (a release or a source) as the reports need them."""
    from metakit.grading.written import read_questions

    return [QuestionMax(q.grade_id, q.title, q.points) for q in read_questions(path, with_rubric=False)]


def load_book(folder: Path) -> WrittenBook | None:
    """The book a previous import left in a grades folder, if any."""
    path = Path(folder) / BOOK_FILE
    return WrittenBook.from_json(path.read_text()) if path.exists() else None


# --------------------------------------------------------------------------- the CSV to fill
def write_scores_template(path: Path, rows: list[tuple[str, str, bool]]) -> None:
    """``rows``: (student, question grade_id, answered). Unanswered rows are pre-marked 0 points,
    comment ``unanswered``; the others are left empty for the grader."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for student, question, answered in rows:
            writer.writerow([student, question, "" if answered else "0", "" if answered else UNANSWERED])


def read_scores(path: Path, questions: list[QuestionMax], students: set[str],
                aliases: dict[str, str] | None = None) -> dict[str, dict[str, WrittenScore]]:
    """The filled CSV's scores by student and question, every row checked first.

    Rows with empty points are not graded yet and skipped. ``aliases`` maps pseudonyms (an
    anonymised export) to students. Any problem raises a :class:`ScoresError` naming the file and
    the row (row 1 is the header), before anything is used."""
    path = Path(path)
    by_id = {q.grade_id: q for q in questions}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScoresError(f"{path}: cannot read the scores CSV: {exc}") from None
    header = [name.strip() for name in rows[0]] if rows else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ScoresError(f"{path}, row 1: missing column(s) {', '.join(missing)}; "
                          f"the header must name {', '.join(COLUMNS)}")
    scores: dict[str, dict[str, WrittenScore]] = {}
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise ScoresError(f"{path}, row {number}: {len(row)} fields for {len(header)} columns (a comma in "
                              "a comment must be inside double quotes)")
        record = dict(zip(header, (cell.strip() for cell in row)))
        score = _row_score(record, f"{path}, row {number}", by_id, students, aliases or {})
        if score is None:
            continue
        student, question, value = score
        if (student, question) in seen:
            raise ScoresError(f"{path}, row {number}: {student} / {question} is scored twice "
                              f"(also in row {seen[(student, question)]})")
        seen[(student, question)] = number
        scores.setdefault(student, {})[question] = value
    return scores


def _row_score(record: dict[str, str], where: str, questions: dict[str, QuestionMax], students: set[str],
               aliases: dict[str, str]) -> tuple[str, str, WrittenScore] | None:
    name, question, text = record.get("student", ""), record.get("question", ""), record.get("points", "")
    student = aliases.get(name, name)
    if student not in students:
        raise ScoresError(f"{where}: unknown student {name!r} (no graded submission of that name"
                          f"{'; pass the key file of an anonymised export with --key' if not aliases else ''})")
    if question not in questions:
        raise ScoresError(f"{where}: unknown question {question!r}; the written questions are "
                          f"{', '.join(questions)}")
    if not text:
        return None
    try:
        points = float(text)
    except ValueError:
        raise ScoresError(f"{where}: points {text!r} is not a number") from None
    top = questions[question].points
    if not math.isfinite(points) or not 0 <= points <= top:
        raise ScoresError(f"{where}: points {text} out of range for {question} (0 to {top:g})")
    return student, question, WrittenScore(points, record.get("comment", ""))
