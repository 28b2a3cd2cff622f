"""Written questions: read them (question, points, rubric, reference answer) from a source notebook,
and each student's answers from a submission.

A written question is a markdown cell with nbgrader's manual-grading metadata
(``{"grade": true, "solution": true, "points": P}``). In the instructor's notebook the reference answer
and, after it, the rubric sit between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, so nbgrader's
release replaces both with ``YOUR ANSWER HERE``::

    ### BEGIN SOLUTION
    The reference answer.

    **Rubric**
    - 3: a full answer
    - 2: ...
    - 0: no answer, or wrong
    ### END SOLUTION

The levels are the points awarded: distinct, each with a description, the highest equal to ``P``
(docs/authoring.md, "Written answers"). The question is the markdown before the solution block, in
the same cell, or, when the cell holds only the block, the markdown cell just above it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from metakit.grading.intake import cell_source, nbgrader_meta, read_notebook

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
RUBRIC_HEADING = "**Rubric**"
ANSWER_STUB = "YOUR ANSWER HERE"  # nbgrader's text stub (see metakit.grading.release)
LEVEL = re.compile(r"^- (?P<points>\d+(?:\.\d+)?):(?: (?P<text>.*))?$")


class RubricError(ValueError):
    """A written question whose points or rubric are wrong; the message names notebook, cell and line."""


@dataclass(frozen=True)
class RubricLevel:
    points: float
    description: str


@dataclass(frozen=True)
class WrittenQuestion:
    """One written question. ``prefix``/``suffix``: the cell's text around the answer block (they
    tell the student's answer from the question in a submission). ``rubric`` and ``reference`` are
    empty when read from a release, where nbgrader removed them."""

    grade_id: str
    question: str
    points: float
    rubric: tuple[RubricLevel, ...] = ()
    reference: str = ""
    prefix: str = ""
    suffix: str = ""

    @property
    def title(self) -> str:
        """A one-line name: the question's last paragraph up to its first question mark, at most
        about 80 characters (never cut inside ``$...$``), bold markers removed."""
        paragraphs = [p for p in re.split(r"\n\s*\n", self.question.strip()) if p.strip()]
        line = " ".join(paragraphs[-1].split()).lstrip("#").strip().replace("**", "") if paragraphs else ""
        end = line.find("?")
        if 0 < end < 100:
            return line[:end + 1]
        if len(line) <= 80:
            return line or self.grade_id
        cut = line[:77].rsplit(" ", 1)[0]
        if cut.count("$") % 2:
            cut = cut[:cut.rfind("$")].rstrip()
        return cut + "..."


def is_written_cell(cell: dict) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("solution")) and bool(meta.get("grade"))


def read_questions(path: Path, with_rubric: bool = True) -> list[WrittenQuestion]:
    """The written questions of a notebook, in order. ``with_rubric`` (a source notebook): every
    question must have points and a valid rubric in its solution block, else a :class:`RubricError`.
    Without it (a release): the questions and their points only."""
    path = Path(path)
    cells = read_notebook(path)["cells"]
    questions = []
    for index, cell in enumerate(cells):
        if is_written_cell(cell):
            above = cell_source(cells[index - 1]) if index and cells[index - 1].get("cell_type") == "markdown" else ""
            questions.append(_question(path, cell, above, with_rubric))
    return questions


def _question(path: Path, cell: dict, above: str, with_rubric: bool) -> WrittenQuestion:
    meta = nbgrader_meta(cell)
    grade_id, text = str(meta.get("grade_id", "?")), cell_source(cell)
    where = f"{path.name}, cell {grade_id}"
    points = meta.get("points")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
        raise RubricError(f"{where}: 'points' in its nbgrader metadata must be a number >= 0, not {points!r}")
    prefix, block, suffix = _split_block(text, where if with_rubric else None)
    question = prefix.strip() or above.strip()
    if not with_rubric:
        return WrittenQuestion(grade_id, question, float(points), prefix=prefix, suffix=suffix)
    reference, rubric = parse_rubric(block, where, float(points), first_line=prefix.count("\n") + 1)
    return WrittenQuestion(grade_id, question, float(points), rubric, reference, prefix, suffix)


def _split_block(text: str, where: str | None) -> tuple[str, str, str]:
    """(before, inside, after) the solution markers; in a release, (before, stub, after) the stub."""
    if BEGIN in text and END in text.split(BEGIN, 1)[1]:
        before, rest = text.split(BEGIN, 1)
        inside, after = rest.split(END, 1)
        return before, inside, after
    if where is not None:
        raise RubricError(f"{where}: no '{BEGIN}' ... '{END}' block around the reference answer and rubric")
    if ANSWER_STUB in text:
        before, after = text.split(ANSWER_STUB, 1)
        return before, ANSWER_STUB, after
    return "", text, ""


def parse_rubric(block: str, where: str, points: float, first_line: int = 1) -> tuple[str, tuple[RubricLevel, ...]]:
    """Split a solution block into (reference answer, rubric levels) and check the rubric.

    ``where`` names the notebook and cell in errors; ``first_line`` is the cell line of the block's
    first line, so that an error names the line of the cell."""
    lines = block.split("\n")
    heading = [i for i, line in enumerate(lines) if line.strip() == RUBRIC_HEADING]
    if not heading:
        raise RubricError(f"{where}: no '{RUBRIC_HEADING}' line after the reference answer "
                          "(format: docs/authoring.md, 'Written answers')")
    if len(heading) > 1:
        raise RubricError(f"{where}, line {first_line + heading[1]}: a second '{RUBRIC_HEADING}' heading")
    start = heading[0]
    reference = "\n".join(lines[:start]).strip()
    if not reference:
        raise RubricError(f"{where}: no reference answer before '{RUBRIC_HEADING}'")
    levels: list[RubricLevel] = []
    for offset, line in enumerate(lines[start + 1:], start=start + 1):
        if line.strip():
            levels.append(_level(line, f"{where}, line {first_line + offset}", levels))
    _check_levels(levels, where, points)
    return reference, tuple(levels)


def _level(line: str, where: str, previous: list[RubricLevel]) -> RubricLevel:
    match = LEVEL.match(line.rstrip())
    if not match:
        raise RubricError(f"{where}: {line.strip()!r} is not a rubric level; write '- <points>: <description>'")
    level = RubricLevel(float(match["points"]), (match["text"] or "").strip())
    if not level.description:
        raise RubricError(f"{where}: the level {level.points:g} has no description")
    if any(p.points == level.points for p in previous):
        raise RubricError(f"{where}: the level {level.points:g} appears twice; levels must be distinct")
    return level


def _check_levels(levels: list[RubricLevel], where: str, points: float) -> None:
    if not levels:
        raise RubricError(f"{where}: the rubric has no levels")
    top = max(level.points for level in levels)
    if top != points:
        raise RubricError(f"{where}: the rubric's top level is {top:g} but the cell is worth {points:g} points "
                          "(nbgrader metadata 'points'); they must be equal")


# --------------------------------------------------------------------------- students' answers
def read_answers(path: Path, questions: list[WrittenQuestion]) -> dict[str, str | None]:
    """The student's answer to each question (by ``grade_id``), None when unanswered: the cell is
    missing, empty, or still nbgrader's ``YOUR ANSWER HERE``. A file that is not a readable
    notebook raises :class:`~metakit.grading.intake.NotebookError`."""
    cells = {nbgrader_meta(c).get("grade_id"): c for c in read_notebook(Path(path))["cells"]
             if c.get("cell_type") == "markdown"}
    return {q.grade_id: (answer_text(cell_source(cells[q.grade_id]), q) if q.grade_id in cells else None)
            for q in questions}


def answer_text(text: str, question: WrittenQuestion) -> str | None:
    """The part of a submitted cell where the answer block was (the question around it removed);
    None when nothing was written there."""
    text = text.strip()
    prefix, suffix = question.prefix.strip(), question.suffix.strip()
    if prefix and text.startswith(prefix):
        text = text[len(prefix):]
    if suffix and text.endswith(suffix):
        text = text[:-len(suffix)]
    text = text.strip()
    if text.startswith(ANSWER_STUB):
        text = text[len(ANSWER_STUB):].strip()
    return text or None
