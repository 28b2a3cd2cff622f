"""Grade reports: Gradescope ``results.json``, a feedback page per student, ``grades.csv``,
an instructor log and the summary table. Only messages reach students, never test source."""
from __future__ import annotations

import csv
import html
import json
from pathlib import Path

from metakit.grading.late import LATE_COLUMNS, LatePolicy, csv_cells
from metakit.grading.late import feedback_lines as late_feedback
from metakit.grading.runner import Graded
from metakit.grading.visibility import WITHHELD_BEFORE_DEADLINE, split_tests, withheld_line

META_FILE = "meta.json"  # what `metakit gradebook` reads besides grades.csv


def gradescope_results(graded: Graded) -> dict:
    """Gradescope's results.json for one submission."""
    tests = []
    for t in graded.tests:
        tests.append({
            "name": f"{t['title']} ({t['name']})",
            "score": t["points"],
            "max_score": t["max_points"],
            "status": "passed" if t["passed"] else "failed",
            "output": t["message"] or "passed",
            **({"tags": ["grader error"]} if t.get("grader_error") else {}),
            "visibility": t["visibility"],
            "execution_time": t.get("execution_time", 0.0),
        })
    output = "\n".join(([graded.fatal] if graded.fatal else []) + graded.notes)
    return {
        "score": graded.score,
        "max_score": graded.max_score,
        "execution_time": graded.seconds,
        "output": output or f"{graded.score:g} / {graded.max_score:g} points",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def feedback_markdown(graded: Graded, hw: str, withheld: frozenset[str] = WITHHELD_BEFORE_DEADLINE,
                      policy: LatePolicy | None = None) -> str:
    """A student's feedback: the tests ``withheld`` (by visibility) are counted, never shown."""
    tests, hidden = split_tests(graded.tests, withheld)
    score, max_score = sum(t["points"] for t in tests), sum(t["max_points"] for t in tests)
    if hidden:
        lines = [f"# {hw}: feedback for {graded.student}", "",
                 f"**Score on the tests shown: {score:g} / {max_score:g}**", "", withheld_line(hidden), ""]
    elif graded.late is not None and graded.late.penalty:
        lines = [f"# {hw}: feedback for {graded.student}", "",
                 f"**Score: {graded.late.final(score):g} / {max_score:g}** "
                 f"({score:g} before the late penalty)", ""]
    else:
        lines = [f"# {hw}: feedback for {graded.student}", "", f"**Score: {score:g} / {max_score:g}**", ""]
    if graded.fatal:
        lines += [f"> {graded.fatal}", ""]
    if graded.notes:
        lines += ["## About your notebook", ""] + [f"- {note}" for note in graded.notes] + [""]
    lines += late_feedback(graded.late, policy, score, max_score)
    lines += ["## Tests", "", "| test | points | result |", "|---|---|---|"]
    for t in tests:
        result = "passed" if t["passed"] else ("partial" if t["points"] > 0 else "failed")
        if t.get("grader_error"):
            result = "not graded (grading error, not your fault)"
        lines.append(f"| {t['title']} | {t['points']:g} / {t['max_points']:g} | {result} |")
    failed = [t for t in tests if not t["passed"]]
    if failed:
        lines += ["", "## What to look at", ""]
        for t in failed:
            lines += [f"### {t['title']} ({t['points']:g} / {t['max_points']:g})", "", "```",
                      t["message"] or "failed", "```", ""]
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


def write_reports(results: list[Graded], hw: str, out: Path, isolation: str = "",
                  withheld: frozenset[str] = WITHHELD_BEFORE_DEADLINE, policy: LatePolicy | None = None) -> None:
    """Everything for a batch under ``out``: feedback/ (without the tests ``withheld``, see
    :mod:`~metakit.grading.visibility`), gradescope/, grades.csv, meta.json, instructor.log (which
    starts with ``isolation``: what the workers could and could not reach)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    (out / "gradescope").mkdir(exist_ok=True)
    for graded in results:
        safe = _safe_name(graded.student)
        text = feedback_markdown(graded, hw, withheld, policy)
        (out / "feedback" / f"{safe}.md").write_text(text)
        (out / "feedback" / f"{safe}.html").write_text(feedback_html(text, f"{hw} feedback: {graded.student}"))
        (out / "gradescope" / f"{safe}.json").write_text(json.dumps(gradescope_results(graded), indent=1))
    write_grades_csv(results, out / "grades.csv")
    (out / META_FILE).write_text(json.dumps(batch_meta(results, hw), indent=1))
    (out / "instructor.log").write_text((isolation + "\n\n" if isolation else "") + instructor_log(results, hw))
    (out / "summary.txt").write_text(summary_table(results, hw))


def write_grades_csv(results: list[Graded], path: Path) -> None:
    names = [t["name"] for t in results[0].tests] if results else []
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *names, *LATE_COLUMNS, "total", "max", "grader_errors"])
        for graded in results:
            points = {t["name"]: t["points"] for t in graded.tests}
            writer.writerow([graded.student, *(f"{points.get(n, 0):g}" for n in names),
                             *csv_cells(graded.late, graded.score), f"{graded.score:g}", f"{graded.max_score:g}",
                             " ".join(t["name"] for t in graded.grader_errors)])


def batch_meta(results: list[Graded], hw: str) -> dict:
    """meta.json: the assignment, its tests (name, points, visibility) and who had no notebook."""
    tests = [{k: t[k] for k in ("name", "title", "max_points", "visibility")} for t in results[0].tests] if results else []
    return {"hw": hw, "tests": tests, "max_score": results[0].max_score if results else 0.0,
            "no_submission": [g.student for g in results if g.fatal and not any(t["points"] for t in g.tests)
                              and _no_notebook(g.fatal)]}


def _no_notebook(fatal: str) -> bool:
    return fatal.startswith("no notebook") or fatal.endswith("does not exist")


def instructor_log(results: list[Graded], hw: str) -> str:
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
                         f"penalty {penalty}, final {final}" + (f"; FLAG: {note}" if note else ""))
        for t in graded.tests:
            status = "GRADER ERROR" if t.get("grader_error") else ("PASS" if t["passed"] else "FAIL")
            parts.append(f"[{status}] {t['name']} {t['points']:g}/{t['max_points']:g} "
                         f"({t.get('execution_time', 0):.1f} s)")
            if t["message"]:
                parts.append("    " + t["message"].replace("\n", "\n    "))
            if t.get("instructor_details"):
                parts.append("    --- details ---\n    " + t["instructor_details"].replace("\n", "\n    "))
        if graded.instructor_log.strip():
            parts.append("--- grading run output ---\n" + graded.instructor_log.strip())
    return "\n".join(parts) + "\n"


def summary_table(results: list[Graded], hw: str) -> str:
    if not results:
        return f"{hw}: no submissions\n"
    width = max(12, *(len(g.student) for g in results))
    header = f"{'student':<{width}}  {'score':>13}  {'tests passed':>12}  {'time':>7}"
    lines = [f"{hw}", header, "-" * len(header)]
    for g in results:
        passed = sum(t["passed"] for t in g.tests)
        score = f"{g.score:g} / {g.max_score:g}"
        flag = (f"  (!) {len(g.grader_errors)} grader error(s)" if g.grader_errors
                else ("  (!) " + g.fatal.splitlines()[0][:60] if g.fatal else ""))
        lines.append(f"{g.student:<{width}}  {score:>13}  {passed:>5} / {len(g.tests):<4}  {g.seconds:>6.1f}s" + flag)
    return "\n".join(lines) + "\n"


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "student"
