"""Grade reports: Gradescope ``results.json``, a feedback page per student, ``grades.csv``,
an instructor log and the summary table. Only messages reach students, never test source.

Written answers (graded by hand, :mod:`metakit.grading.written_scores`) appear next to the
autograded tests: a question with no imported score is shown as not graded yet, never as 0 earned.
``graded.json`` keeps the autograded records, so that ``python -m metakit written import`` can write
the reports again with the written scores.

Late submissions (:mod:`metakit.grading.late`) show their penalty in grades.csv (``final``), the
feedback and the log; tests withheld by visibility (:mod:`metakit.grading.visibility`) are left out
of a student's feedback, never out of grades.csv, the Gradescope JSON or the log."""
from __future__ import annotations

import csv
import html
import io
import json
import os
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

from metakit.grading.late import LATE_COLUMNS, LatePolicy, Lateness, csv_cells
from metakit.grading.late import feedback_lines as late_feedback
from metakit.grading.records import SubmissionResult, TestRecord
from metakit.grading.visibility import WITHHELD_BEFORE_DEADLINE, split_tests, withheld_line
from metakit.grading.written_scores import BOOK_FILE, QuestionMax, WrittenBook, load_book

GRADED_FILE = "graded.json"  # the autograded records, for `metakit written import`
META_FILE = "meta.json"  # what `metakit gradebook` reads besides grades.csv


def gradescope_results(graded: SubmissionResult, written: WrittenBook | None = None) -> dict:
    """Gradescope's results.json for one submission; with ``written``, a test entry per graded
    written question, counted in the score."""
    tests = []
    for t in graded.tests:
        tests.append({
            "name": f"{t.title} ({t.name})",
            "score": t.points,
            "max_score": t.max_points,
            "status": "passed" if t.passed else "failed",
            "output": t.message or "passed",
            **({"tags": ["grader error"]} if t.grader_error else {}),
            "visibility": t.visibility,
            "execution_time": t.execution_time,
        })
    score, max_score = graded.score, graded.max_score
    if written is not None and written.of(graded.student):
        tests += _written_entries(graded.student, written)
        score = round(score + written.earned(graded.student), 4)
        max_score = round(max_score + written.graded_max(graded.student), 4)
    output = "\n".join(([graded.fatal] if graded.fatal else []) + graded.notes)
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": graded.seconds,
        "output": output or f"{score:g} / {max_score:g} points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _written_entries(student: str, written: WrittenBook) -> list[dict]:
    scores = written.of(student)
    return [{"name": f"Written: {q.title} ({q.grade_id})", "score": scores[q.grade_id].points,
             "max_score": q.points, "status": "passed" if scores[q.grade_id].points == q.points else "failed",
             "output": scores[q.grade_id].comment or f"{scores[q.grade_id].points:g} / {q.points:g} points",
             "visibility": "visible"}
            for q in written.questions if q.grade_id in scores]


def score_line(graded: SubmissionResult, written: WrittenBook | None, score: float, max_score: float) -> str:
    """The feedback's headline: the total (after any late penalty), and what it is made of.
    ``score`` / ``max_score``: the autograded points of the tests shown."""
    auto = f"{score:g} / {max_score:g}"
    late = graded.late if graded.late is not None and graded.late.penalty else None
    if written is None or not written.questions:
        if late:
            return f"**Score: {late.final(score):g} / {max_score:g}** ({score:g} before the late penalty)"
        return f"**Score: {auto}**"
    earned = written.earned(graded.student)
    if earned is None:
        head = (f"**Score: {late.final(score):g} / {max_score:g}** ({score:g} before the late penalty; autograded"
                if late else f"**Score: {auto}** (autograded")
        return head + f"; the written answers, {written.max_points:g} points, are not graded yet)"
    total = round(score + earned, 4)
    shown = f"{late.final(total):g}" if late else f"{total:g}"
    before = f"{total:g} before the late penalty; " if late else ""
    pending = "" if written.graded_max(graded.student) == written.max_points else "; some not graded yet"
    return (f"**Score: {shown} / {max_score + written.max_points:g}** ({before}autograded {auto}, "
            f"written {earned:g} / {written.max_points:g}{pending})")


def written_markdown(student: str, written: WrittenBook) -> list[str]:
    """The feedback's section on written answers: points and the grader's comment per question."""
    scores = written.of(student)
    lines = ["## Written answers", ""]
    for q in written.questions:
        score = scores.get(q.grade_id)
        if score is None:
            lines.append(f"- **{q.title}** ({q.grade_id}): not graded yet ({q.points:g} points)")
            continue
        lines.append(f"- **{q.title}** ({q.grade_id}): {score.points:g} / {q.points:g}")
        if score.comment:
            lines.append("  " + score.comment.replace("\n", "\n  "))
    return lines + [""]


def feedback_markdown(graded: SubmissionResult, hw: str, written: WrittenBook | None = None,
                      withheld: frozenset[str] = WITHHELD_BEFORE_DEADLINE, policy: LatePolicy | None = None) -> str:
    """A student's feedback: the tests ``withheld`` (by visibility) are counted, never shown."""
    tests, hidden = split_tests(graded.tests, withheld)
    score, max_score = sum(t.points for t in tests), sum(t.max_points for t in tests)
    lines = [f"# {hw}: feedback for {graded.student}", ""]
    if hidden:
        lines += [f"**Score on the tests shown: {score:g} / {max_score:g}**", "", withheld_line(hidden), ""]
    else:
        lines += [score_line(graded, written, score, max_score), ""]
    if graded.fatal:
        lines += [f"> {graded.fatal}", ""]
    if graded.notes:
        lines += ["## About your notebook", ""] + [f"- {note}" for note in graded.notes] + [""]
    shown_written = None if hidden else written
    lines += late_feedback(graded.late, policy, round(score + (_earned(shown_written, graded.student) or 0.0), 4),
                           max_score + _written_max(shown_written))
    lines += ["## Tests", "", "| test | points | result |", "|---|---|---|"]
    for t in tests:
        result = "passed" if t.passed else ("partial" if t.points > 0 else "failed")
        if t.grader_error:
            result = "not graded (grading error, not your fault)"
        lines.append(f"| {t.title} | {t.points:g} / {t.max_points:g} | {result} |")
    failed = [t for t in tests if not t.passed]
    if failed:
        lines += ["", "## What to look at", ""]
        for t in failed:
            lines += [f"### {t.title} ({t.points:g} / {t.max_points:g})", "", "```",
                      t.message or "failed", "```", ""]
    if written is not None and written.questions:
        lines += [""] + written_markdown(graded.student, written)
    return "\n".join(lines) + "\n"


def feedback_html(markdown_text: str, title: str) -> str:
    try:
        import mistune

        body = mistune.html(markdown_text)
    except Exception:  # noqa: BLE001 - plain text is a fine fallback
        body = f"<pre>{html.escape(markdown_text)}</pre>"
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
             "pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{body}</body></html>\n")


def write_reports(results: list[SubmissionResult], hw: str, out: Path, isolation: str = "",
                  questions: list[QuestionMax] | None = None, withheld: frozenset[str] = WITHHELD_BEFORE_DEADLINE,
                  policy: LatePolicy | None = None) -> WrittenBook | None:
    """Everything for a batch under ``out``: feedback/ (without the tests ``withheld``), gradescope/,
    grades.csv, summary.txt, meta.json, graded.json, instructor.log (which starts with ``isolation``:
    what the workers could and could not reach). ``questions``: the written questions (not graded
    yet); scores that an earlier ``written import`` left in ``out`` are kept. Returns the written
    questions and scores shown."""
    book = load_book(out)
    if questions is not None:
        book = WrittenBook(list(questions), book.scores if book else {})
    files = report_files(results, hw, book, withheld, policy)
    files[GRADED_FILE] = json.dumps({"hw": hw, "withheld": sorted(withheld),
                                     "results": [_graded_record(g) for g in results]}, indent=1) + "\n"
    files["instructor.log"] = (isolation + "\n\n" if isolation else "") + instructor_log(results, hw)
    write_files(out, files)
    return book


def report_files(results: list[SubmissionResult], hw: str, written: WrittenBook | None,
                 withheld: frozenset[str] = WITHHELD_BEFORE_DEADLINE, policy: LatePolicy | None = None) -> dict[str, str]:
    """The text of every report that shows scores, by path relative to the grades folder."""
    files = {}
    for graded in results:
        safe = _safe_name(graded.student)
        text = feedback_markdown(graded, hw, written, withheld, policy)
        files[f"feedback/{safe}.md"] = text
        files[f"feedback/{safe}.html"] = feedback_html(text, f"{hw} feedback: {graded.student}")
        files[f"gradescope/{safe}.json"] = json.dumps(gradescope_results(graded, written), indent=1)
    files["grades.csv"] = grades_csv(results, written)
    files["summary.txt"] = summary_table(results, hw, written)
    files[META_FILE] = json.dumps(batch_meta(results, hw, written), indent=1)
    if written is not None and written.scores:
        files[BOOK_FILE] = written.to_json()
    return files


def _graded_record(graded: SubmissionResult) -> dict:
    record = asdict(graded)
    if graded.late is not None:
        at = graded.late.submitted_at
        record["late"] = {**asdict(graded.late), "submitted_at": at.isoformat() if at else None}
    return record


def _graded_from_record(record: dict) -> SubmissionResult:
    graded = SubmissionResult(**{**record, "tests": [TestRecord.from_dict(test) for test in record["tests"]]})
    late = record.get("late")
    if late is not None:
        at = late.get("submitted_at")
        graded = replace(graded, late=Lateness(**{**late, "submitted_at": datetime.fromisoformat(at) if at else None}))
    return graded


def write_files(out: Path, files: dict[str, str]) -> None:
    """Write each file whole (a temporary file renamed over it): a reader never sees half a report."""
    for relative, text in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)


def load_graded(out: Path) -> tuple[str, list[SubmissionResult]]:
    """The assignment and autograded results that ``write_reports`` left in ``out`` (see
    :func:`load_withheld` for what its feedback left out)."""
    path = Path(out) / GRADED_FILE
    if not path.exists():
        raise FileNotFoundError(f"{out} has no {GRADED_FILE}: it is not a folder written by "
                                "`python -m metakit grade ... --out` (grade again with this version of the kit)")
    data = json.loads(path.read_text())
    return data["hw"], [_graded_from_record(record) for record in data["results"]]


def load_withheld(out: Path) -> frozenset[str]:
    """The visibilities the feedback in ``out`` withheld when it was written."""
    data = json.loads((Path(out) / GRADED_FILE).read_text())
    return frozenset(data.get("withheld", WITHHELD_BEFORE_DEADLINE))


def write_grades_csv(results: list[SubmissionResult], path: Path, written: WrittenBook | None = None) -> None:
    Path(path).write_text(grades_csv(results, written))


def grades_csv(results: list[SubmissionResult], written: WrittenBook | None = None) -> str:
    """A row per student: each test's points, each written question's (empty: not graded yet), the
    late policy's :data:`~metakit.grading.late.LATE_COLUMNS` (``final``: the total after the
    penalty; empty without a policy), ``autograded``, ``written`` (empty until a question is graded), ``total`` (autograded + written
    graded so far), ``max`` (autograded and written), ``grader_errors``."""
    names = [t.name for t in results[0].tests] if results else []
    questions = written.questions if written is not None else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["student", *names, *(f"written:{q.grade_id}" for q in questions), *LATE_COLUMNS,
                     "autograded", "written", "total", "max", "grader_errors"])
    for graded in results:
        points = graded.points()
        scores = written.of(graded.student) if written is not None else {}
        earned = _earned(written, graded.student)
        total = round(graded.score + (earned or 0), 4)
        max_score = graded.max_score + _written_max(written)
        writer.writerow([graded.student, *(f"{points.get(n, 0):g}" for n in names),
                         *(f"{scores[q.grade_id].points:g}" if q.grade_id in scores else "" for q in questions),
                         *csv_cells(graded.late, total), f"{graded.score:g}", "" if earned is None else f"{earned:g}",
                         f"{total:g}", f"{max_score:g}",
                         " ".join(t.name for t in graded.grader_errors)])
    return buffer.getvalue()


def batch_meta(results: list[SubmissionResult], hw: str, written: WrittenBook | None = None) -> dict:
    """meta.json: the assignment, its tests (name, points, visibility), the maximum (autograded and
    written) and who had no notebook."""
    tests = [{k: getattr(t, k) for k in ("name", "title", "max_points", "visibility")} for t in results[0].tests] if results else []
    written_max = _written_max(written)
    return {"hw": hw, "tests": tests, "max_score": (results[0].max_score if results else 0.0) + written_max,
            "written_max": written_max,
            "no_submission": [g.student for g in results if g.fatal and not any(t.points for t in g.tests)
                              and _no_notebook(g.fatal)]}


def _no_notebook(fatal: str) -> bool:
    return fatal.startswith("no notebook") or fatal.endswith("does not exist")


def instructor_log(results: list[SubmissionResult], hw: str) -> str:
    parts = []
    for graded in results:
        parts.append(f"=== {hw} / {graded.student}: {graded.score:g} / {graded.max_score:g} "
                     f"({graded.seconds:.1f} s)")
        if graded.fatal:
            parts.append(f"FATAL: {graded.fatal}")
        parts += [f"note: {n}" for n in graded.notes]
        if graded.late is not None:
            at, days, penalty, final, note = csv_cells(graded.late, graded.score)
            parts.append(f"late: submitted {at or 'unknown'} ({graded.late.source}), {days} late day(s), "
                         f"penalty {penalty}, final {final} (autograded)" + (f"; FLAG: {note}" if note else ""))
        for t in graded.tests:
            status = "GRADER ERROR" if t.grader_error else ("PASS" if t.passed else "FAIL")
            parts.append(f"[{status}] {t.name} {t.points:g}/{t.max_points:g} "
                         f"({t.execution_time:.1f} s)")
            if t.message:
                parts.append("    " + t.message.replace("\n", "\n    "))
            if t.instructor_details:
                parts.append("    --- details ---\n    " + t.instructor_details.replace("\n", "\n    "))
        if graded.instructor_log.strip():
            parts.append("--- grading run output ---\n" + graded.instructor_log.strip())
    return "\n".join(parts) + "\n"


def summary_table(results: list[SubmissionResult], hw: str, written: WrittenBook | None = None) -> str:
    """A line per student: autograded, written ("-" until graded), total against the maximum with the
    written points, tests passed, time."""
    if not results:
        return f"{hw}: no submissions\n"
    width = max(12, *(len(g.student) for g in results))
    written_max = _written_max(written)
    header = (f"{'student':<{width}}  {'autograded':>13}  {'written':>9}  {'total':>13}  {'tests passed':>12}"
              f"  {'time':>7}")
    lines = [f"{hw}", header, "-" * len(header)]
    for g in results:
        passed = sum(t.passed for t in g.tests)
        earned = _earned(written, g.student)
        written_cell = "-" if not written_max else f"{'-' if earned is None else f'{earned:g}'} / {written_max:g}"
        total = f"{g.score + (earned or 0):g} / {g.max_score + written_max:g}"
        flag = (f"  (!) {len(g.grader_errors)} grader error(s)" if g.grader_errors
                else ("  (!) " + g.fatal.splitlines()[0][:60] if g.fatal else ""))
        lines.append(f"{g.student:<{width}}  {f'{g.score:g} / {g.max_score:g}':>13}  {written_cell:>9}  {total:>13}"
                     f"  {passed:>5} / {len(g.tests):<4}  {g.seconds:>6.1f}s" + flag)
    return "\n".join(lines) + "\n"


def _earned(written: WrittenBook | None, student: str) -> float | None:
    """The written points ``student`` earned so far (None: none graded, or no written questions)."""
    return written.earned(student) if written is not None else None


def _written_max(written: WrittenBook | None) -> float:
    return written.max_points if written is not None else 0.0


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "student"
