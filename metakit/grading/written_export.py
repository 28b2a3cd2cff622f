"""Grade written answers by question: one HTML page per question with every student's answer, the
rubric and the reference answer, an index page, and ``scores.csv`` to fill.

Answers are the students' markdown, rendered with mistune (the renderer nbconvert uses) with raw
HTML escaped and harmful links dropped: an answer is hostile input, and the pages open in the
grader's browser. No MathJax or KaTeX ships with the kit's environment and the pages must work
offline, so maths stays visible as its LaTeX source between ``$`` signs.

Anonymised, each student is a pseudonym (a keyed hash of the name with ``seed``: the same
student gets the same pseudonym in every export with that seed) and the key (pseudonym -> student)
is written to its own file, outside the folder that goes to the graders.
"""
from __future__ import annotations

import csv
import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

import mistune

from metakit.grading.intake import NotebookError
from metakit.grading.runner import Submission
from metakit.grading.written import WrittenQuestion, read_answers
from metakit.grading.written_scores import write_scores_template

MATH_NOTE = ("Maths is shown as its LaTeX source between $ signs (no MathJax or KaTeX is available "
             "offline here).")
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
         ".answer{border:1px solid #ccc;border-radius:4px;padding:.4em 1em;margin:1em 0}"
         ".unanswered{color:#a00}.math{font-family:monospace;background:#f3f3f3}"
         ".rubric,.reference{background:#f6f8fa;padding:.4em 1em;border-left:4px solid #8ab}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}")


@dataclass
class StudentAnswers:
    """One submission's answers by grade_id (None: unanswered) and why, when none could be read."""

    name: str
    answers: dict[str, str | None]
    problem: str | None = None


def collect_answers(submissions: list[Submission], questions: list[WrittenQuestion]) -> list[StudentAnswers]:
    """Every submission's answers; a missing or unreadable notebook counts as unanswered, with the reason."""
    names = [s.student for s in submissions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two or more submissions are called {', '.join(twice)}: student names must be unique")
    collected = []
    for submission in submissions:
        empty = {q.grade_id: None for q in questions}
        if submission.notebook is None:
            collected.append(StudentAnswers(submission.student, empty, submission.problem or "no notebook"))
            continue
        try:
            collected.append(StudentAnswers(submission.student, read_answers(submission.notebook, questions)))
        except NotebookError as exc:
            collected.append(StudentAnswers(submission.student, empty, str(exc)))
    return collected


def pseudonym(student: str, seed: str) -> str:
    """A stable pseudonym: a keyed BLAKE2 hash of the name (key: the seed)."""
    digest = hashlib.blake2b(student.encode(), key=seed.encode()[:64], digest_size=4).hexdigest()
    return f"student-{digest}"


def pseudonyms(students: list[str], seed: str) -> dict[str, str]:
    """Student -> pseudonym for a batch; a collision (two names, one hash) is an error, never a merge."""
    names = {s: pseudonym(s, seed) for s in students}
    if len(set(names.values())) < len(names):
        raise ValueError(f"two students got the same pseudonym with seed {seed!r}: choose another --seed")
    return names


def render_markdown(text: str) -> str:
    """Markdown to HTML: raw HTML escaped, harmful links dropped, maths kept as ``$...$`` text."""
    md = mistune.create_markdown(escape=True, plugins=["math", "table", "strikethrough"])
    md.renderer.register("inline_math", lambda _renderer, math: f'<span class="math">${html.escape(math)}$</span>')
    md.renderer.register("block_math", lambda _renderer, math: f'<div class="math">$${html.escape(math)}$$</div>\n')
    return md(text)


def _inline(rendered: str) -> str:
    """One rendered paragraph without its ``<p>``, to sit inside a list item."""
    text = rendered.strip()
    return text[3:-4] if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1 else text


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def question_page(hw: str, question: WrittenQuestion, students: list[StudentAnswers], names: dict[str, str]) -> str:
    """Question, rubric, reference answer, then every student's answer (in the order of ``names``' values)."""
    rubric = "".join(f"<li><b>{level.points:g}</b>: {_inline(render_markdown(level.description))}</li>"
                     for level in question.rubric)
    parts = [f"<p><a href='index.html'>{html.escape(hw)}: all questions</a></p>",
             f"<h1>{html.escape(question.grade_id)} ({question.points:g} points)</h1>",
             render_markdown(question.question),
             f"<h2>Rubric</h2><ul class='rubric'>{rubric}</ul>",
             f"<h2>Reference answer</h2><div class='reference'>{render_markdown(question.reference)}</div>",
             f"<h2>Answers ({len(students)})</h2><p><small>{html.escape(MATH_NOTE)}</small></p>"]
    for student in sorted(students, key=lambda s: names[s.name]):
        answer = student.answers.get(question.grade_id)
        heading = f"<h3 id='{html.escape(names[student.name])}'>{html.escape(names[student.name])}</h3>"
        if answer is None:
            reason = f" ({html.escape(student.problem)})" if student.problem else ""
            parts.append(f"<div class='answer'>{heading}<p class='unanswered'>unanswered{reason}</p></div>")
        else:
            parts.append(f"<div class='answer'>{heading}{render_markdown(answer)}</div>")
    return page(f"{hw} {question.grade_id}", "\n".join(parts))


def index_page(hw: str, questions: list[WrittenQuestion], students: list[StudentAnswers]) -> str:
    rows = []
    for q in questions:
        answered = sum(s.answers.get(q.grade_id) is not None for s in students)
        rows.append(f"<tr><td><a href='{html.escape(q.grade_id)}.html'>{html.escape(q.grade_id)}</a></td>"
                    f"<td>{html.escape(q.title)}</td><td>{q.points:g}</td><td>{answered} / {len(students)}</td></tr>")
    body = (f"<h1>{html.escape(hw)}: written answers</h1>"
            f"<p>{len(students)} submissions, {len(questions)} questions. Grade each question on its page and "
            "fill <code>scores.csv</code> (points, comment; unanswered rows are pre-marked 0), then run "
            f"<code>python -m metakit written import {html.escape(hw)} scores.csv --grades DIR</code>.</p>"
            f"<p><small>{html.escape(MATH_NOTE)}</small></p>"
            "<table><tr><th>question</th><th></th><th>points</th><th>answered</th></tr>" + "".join(rows) + "</table>")
    return page(f"{hw}: written answers", body)


def export(hw: str, submissions: list[Submission], questions: list[WrittenQuestion], out: Path,
           anonymise: bool = False, key_path: Path | None = None, seed: str = "metakit") -> Path | None:
    """Write the pages and ``scores.csv`` under ``out``; anonymised, the key file too (``key_path``,
    by default ``<out>-key.csv`` next to ``out``), whose path is returned."""
    students = collect_answers(submissions, questions)
    names = pseudonyms([s.name for s in students], seed) if anonymise else {s.name: s.name for s in students}
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(index_page(hw, questions, students))
    for question in questions:
        (out / f"{question.grade_id}.html").write_text(question_page(hw, question, students, names))
    rows = [(names[s.name], q.grade_id, s.answers.get(q.grade_id) is not None)
            for s in sorted(students, key=lambda s: names[s.name]) for q in questions]
    write_scores_template(out / "scores.csv", rows)
    if not anonymise:
        return None
    key_path = key_path or out.parent / f"{out.name}-key.csv"
    with open(key_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["pseudonym", "student"])
        writer.writerows(sorted((alias, student) for student, alias in names.items()))
    return key_path


def read_key(path: Path) -> dict[str, str]:
    """Pseudonym -> student from a key file written by :func:`export`."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ["pseudonym", "student"]:
        raise ValueError(f"{path}, row 1: not a key file (the header must be pseudonym,student)")
    key = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not all(row):
            raise ValueError(f"{path}, row {number}: expected pseudonym,student")
        key[row[0]] = row[1]
    return key
