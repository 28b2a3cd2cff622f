"""The late policy (metakit.grading.late): late days, penalties, submission times and their problems,
and what grades.csv, the feedback and the instructor log show. Fake results, no grading."""
from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from metakit.grading.assignment import load_config
from metakit.grading.late import (
    LatePolicy,
    assess,
    assess_submissions,
    parse_policy,
    read_nbgrader_timestamp,
    read_times_csv,
    submission_time,
)
from metakit.grading.report import write_reports
from metakit.grading.records import SubmissionResult, TestRecord
from metakit.grading.runner import Submission, find_submissions

DEADLINE = datetime(2026, 3, 6, 23, 59, tzinfo=timezone(timedelta(hours=-8)))
POLICY = LatePolicy(DEADLINE, grace_minutes=15, penalty_per_day=0.1, max_late_days=4, cap=0.3)


def fake_graded(student: str, points: float = 6.0, max_points: float = 8.0) -> SubmissionResult:
    tests = [TestRecord(name="test_a", file="test_a.py", title="A works", points=points, max_points=max_points,
                        passed=points == max_points, message="" if points == max_points else "a is off")]
    return SubmissionResult(student, tests)


def nbgrader_stamp(when: datetime) -> str:
    """A timestamp.txt line in nbgrader's own format (its Exchange's default timestamp_format, UTC)."""
    from nbgrader.exchange.abc.exchange import Exchange

    return when.astimezone(timezone.utc).strftime(Exchange.timestamp_format.default_value)


def at(**delta: float) -> datetime:
    return DEADLINE + timedelta(**delta)


# --------------------------------------------------------------------------- the policy
@pytest.mark.parametrize("submitted, days, penalty", [
    (at(hours=-3), 0, 0.0),             # on time
    (at(minutes=14), 0, 0.0),           # inside the grace period
    (at(minutes=16), 1, 0.1),           # just past the grace: a started day counts
    (at(days=1.5), 2, 0.2),             # 1.5 days late: two days started
    (at(days=3.5), 4, 0.3),             # 0.4 capped at 0.3
    (at(days=4.01), 5, 1.0),            # beyond max_late_days: score 0
])
def test_late_days_and_penalty(submitted: datetime, days: int, penalty: float) -> None:
    late = assess(POLICY, submission_time(None, None, submitted, False))
    assert (late.late_days, late.penalty) == (days, penalty)
    assert late.final(8.0) == pytest.approx(8.0 * (1 - penalty))


def test_no_policy_changes_nothing(tmp_path: Path) -> None:
    assert assess(None, submission_time(None, None, at(days=9), False)) is None
    write_reports([fake_graded("alice")], "hw_example", tmp_path, policy=None)
    row = next(csv.DictReader((tmp_path / "grades.csv").open()))
    assert row["total"] == "6" and all(row[c] == "" for c in ("submitted_at", "late_days", "late_penalty", "final"))
    assert "Submission time" not in (tmp_path / "feedback" / "alice.md").read_text()


def test_policy_from_assignment_toml(tmp_path: Path) -> None:
    folder = tmp_path / "autograder" / "hwx"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text("[late]\ndeadline = 2026-03-06T23:59:00-08:00\ngrace_minutes = 15\n"
                                            "penalty_per_day = 0.1\nmax_late_days = 4\ncap = 0.3\n")
    assert load_config("hwx", tmp_path).late == POLICY
    (folder / "assignment.toml").write_text('[late]\ndeadline = "2026-03-06T23:59:00-08:00"\npenalty_per_day = 10\n')
    with pytest.raises(ValueError, match=r"assignment.toml: \[late\] penalty_per_day .* fraction"):
        load_config("hwx", tmp_path)
    (folder / "assignment.toml").write_text('[late]\ndeadline = "2026-03-06T23:59:00"\n')
    with pytest.raises(ValueError, match="assignment.toml.*has no time zone"):
        load_config("hwx", tmp_path)
    with pytest.raises(ValueError, match="unknown"):
        parse_policy({"deadline": "2026-03-06T23:59:00Z", "penalty": 0.1}, "x.toml")


# --------------------------------------------------------------------------- submission times
def nbgrader_course(tmp_path: Path, stamps: dict[str, str | None]) -> Path:
    """submitted/<student>/hw_example/ with a notebook and (unless None) a timestamp.txt."""
    for student, stamp in stamps.items():
        folder = tmp_path / "course" / "submitted" / student / "hw_example"
        folder.mkdir(parents=True)
        (folder / "hw_example.ipynb").write_text('{"cells": [], "nbformat": 4, "metadata": {}}')
        if stamp is not None:
            (folder / "timestamp.txt").write_text(stamp)
    return tmp_path / "course"


def test_nbgrader_timestamp_is_read_as_nbgrader_writes_it(tmp_path: Path) -> None:
    stamp = tmp_path / "timestamp.txt"
    stamp.write_text(nbgrader_stamp(at(days=1.5)))
    assert read_nbgrader_timestamp(stamp) == at(days=1.5)


def test_missing_and_garbled_timestamps_are_flagged_and_graded(tmp_path: Path) -> None:
    course = nbgrader_course(tmp_path, {"alice": nbgrader_stamp(at(days=1.5)), "bob": None, "carol": "next tuesday?"})
    submissions = find_submissions([course], "hw_example")
    late = assess_submissions(POLICY, submissions)
    assert (late["alice"].late_days, late["alice"].problem) == (2, None)
    bob_stamp = course / "submitted" / "bob" / "hw_example" / "timestamp.txt"
    assert late["bob"].problem == f"no submission time: {bob_stamp} is missing"
    assert late["bob"].source == "file modification time"
    assert "garbled" in late["carol"].problem and "carol/hw_example/timestamp.txt" in late["carol"].problem
    results = [fake_graded(s.student) for s in submissions]
    for graded in results:
        graded.late = late[graded.student]
    write_reports(results, "hw_example", tmp_path / "out", policy=POLICY)
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert rows["alice"]["late_days"] == "2" and rows["alice"]["late_penalty"] == "0.2" and rows["alice"]["final"] == "4.8"
    assert rows["alice"]["submitted_at"].startswith("2026-03-08T19:59") and rows["alice"]["late_note"] == ""
    assert "is missing" in rows["bob"]["late_note"] and "file modification time" in rows["bob"]["late_note"]
    assert "garbled" in rows["carol"]["late_note"]
    feedback = (tmp_path / "out" / "feedback" / "alice.md").read_text()
    assert "**Score: 4.8 / 8** (6 before the late penalty)" in feedback and "2 late day(s): penalty 20%" in feedback
    assert "flagged for the instructor" in (tmp_path / "out" / "feedback" / "bob.md").read_text()
    assert "FLAG: no submission time" in (tmp_path / "out" / "instructor.log").read_text()


def test_times_csv_then_file_time(tmp_path: Path) -> None:
    notebook = tmp_path / "dave.ipynb"
    notebook.write_text("{}")
    old = at(days=-2).timestamp()
    os.utime(notebook, (old, old))
    times = tmp_path / "times.csv"
    times.write_text("student,timestamp\ndave,2026-03-08T10:00:00+00:00\n")
    late = assess_submissions(POLICY, [Submission("dave", notebook)], times)["dave"]
    assert (late.source, late.late_days) == ("times CSV", 2)
    late = assess_submissions(POLICY, [Submission("dave", notebook)])["dave"]
    assert (late.source, late.late_days, late.problem) == ("file modification time", 0, None)


@pytest.mark.parametrize("text, message", [
    ("name,when\ndave,2026-03-08T10:00:00+00:00\n", "needs the header student,timestamp"),
    ("student,timestamp\ndave,2026-03-08T10:00:00+00:00\nerin,yesterday\n", r"times.csv, row 3: 'yesterday' is not an ISO 8601"),
    ("student,timestamp\ndave,2026-03-08T10:00:00\n", r"times.csv, row 2: 2026-03-08T10:00:00 has no time zone"),
    ("student,timestamp\ndave,2026-03-08T10:00:00Z\ndave,2026-03-09T10:00:00Z\n", r"row 3: student 'dave' appears twice"),
])
def test_malformed_times_csv(tmp_path: Path, text: str, message: str) -> None:
    times = tmp_path / "times.csv"
    times.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_times_csv(times)


def test_times_csv_student_without_submission_stops_grade_and_keeps_old_reports(tmp_path: Path) -> None:
    from metakit.__main__ import main

    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "dave.ipynb").write_text("{}")
    times = tmp_path / "times.csv"
    times.write_text("student,timestamp\ndave,2026-03-08T10:00:00Z\nzed,2026-03-08T10:00:00Z\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("old grades\n")
    with pytest.raises(ValueError, match=r"times.csv: no submission for 'zed' \(row 3\)"):
        assess_submissions(POLICY, find_submissions([folder], "hw_example"), times)
    assert main(["grade", "hw_example", str(folder), "--out", str(out), "--times", str(times)]) == 2
    assert (out / "grades.csv").read_text() == "old grades\n" and sorted(p.name for p in out.iterdir()) == ["grades.csv"]


# --------------------------------------------------------------------------- end to end (hw_example, the real grader)
@pytest.mark.slow  # about a minute on 2 loaded cores: the real grader, two submissions
def test_end_to_end_late_hidden_and_gradebook(tmp_path: Path) -> None:
    """A kit whose hw_example has a late policy and one after_due_date test, graded through the CLI from
    nbgrader's layout, then exported with `gradebook`."""
    import shutil
    import subprocess
    import sys

    from metakit.paths import REPO_ROOT

    kit = tmp_path / "kit"
    shutil.copytree(REPO_ROOT / "assignments" / "hw_example", kit / "assignments" / "hw_example")
    shutil.copytree(REPO_ROOT / "autograder" / "hw_example", kit / "autograder" / "hw_example",
                    ignore=shutil.ignore_patterns("__pycache__"))
    graders = kit / "autograder" / "hw_example" / "test_example.py"
    source = graders.read_text()
    marked = "@graded(points=1, timeout=20)\ndef test_softmax_large_logits"
    assert marked in source
    graders.write_text(source.replace(marked, marked.replace("timeout=20)", 'timeout=20, visibility="after_due_date")')))
    (kit / "autograder" / "hw_example" / "assignment.toml").write_text(
        '[late]\ndeadline = "2026-03-06T23:59:00Z"\npenalty_per_day = 0.1\n')
    course = tmp_path / "course" / "submitted"
    for student, notebook, when in (("alice", REPO_ROOT / "solutions", datetime(2026, 3, 8, 11, 59, tzinfo=timezone.utc)),
                                    ("bob", kit / "assignments", datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc))):
        folder = course / student / "hw_example"
        folder.mkdir(parents=True)
        shutil.copy(notebook / "hw_example" / "hw_example.ipynb", folder)
        (folder / "timestamp.txt").write_text(nbgrader_stamp(when))
    out = tmp_path / "grades"
    run = subprocess.run([sys.executable, "-m", "metakit", "grade", "hw_example", str(course), "--kit-root", str(kit),
                          "--out", str(out), "--jobs", "2", "--no-progress", "--feedback-date", "2026-03-06T12:00:00Z"],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    assert (rows["alice"]["total"], rows["alice"]["late_days"], rows["alice"]["late_penalty"], rows["alice"]["final"]) \
        == ("8", "2", "0.2", "6.4")
    assert (rows["alice"]["test_softmax_large_logits"], rows["bob"]["late_days"], rows["bob"]["final"]) == ("1", "0", "0")
    feedback = (out / "feedback" / "alice.md").read_text()
    assert "large logits" not in feedback and "1 hidden test, shown after the deadline (1 points" in feedback
    assert "**Score on the tests shown: 7 / 7**" in feedback and "2 late day(s): penalty 20%" in feedback
    assert "test_softmax_large_logits" in (out / "instructor.log").read_text()
    from metakit.__main__ import main

    assert main(["gradebook", str(out), "--out", str(tmp_path / "course.csv")]) == 0
    assert list(csv.reader((tmp_path / "course.csv").open()))[1:] == [["alice", "6.4", "6.4", ""], ["bob", "0", "0", ""]]


def test_written_points_and_the_late_penalty_together(tmp_path: Path) -> None:
    """Written scores count before the penalty; grades.csv, the headline and a reload of graded.json
    (what ``written import`` writes from) agree, and what the feedback withheld is kept."""
    from metakit.grading.report import load_graded, load_withheld, report_files, write_files
    from metakit.grading.visibility import WITHHELD_AFTER_DEADLINE
    from metakit.grading.written_scores import QuestionMax, WrittenBook, WrittenScore

    graded = fake_graded("alice")                                      # 6 / 8 autograded
    graded.late = assess(POLICY, submission_time(None, None, at(days=1.5), False))   # 2 days: 20 %
    questions = [QuestionMax("q1", "Why?", 4.0)]
    out = tmp_path / "out"
    write_reports([graded], "hw_example", out, questions=questions, withheld=WITHHELD_AFTER_DEADLINE, policy=POLICY)
    row = next(csv.DictReader((out / "grades.csv").open()))
    assert (row["written"], row["total"], row["final"], row["max"]) == ("", "6", "4.8", "12")
    hw, results = load_graded(out)
    assert hw == "hw_example" and results[0].late == graded.late, "lateness survives graded.json"
    assert load_withheld(out) == WITHHELD_AFTER_DEADLINE
    book = WrittenBook(questions, {"alice": {"q1": WrittenScore(3.0, "good")}})
    write_files(out, report_files(results, hw, book, load_withheld(out), POLICY))
    row = next(csv.DictReader((out / "grades.csv").open()))
    assert (row["written:q1"], row["written"], row["total"], row["final"]) == ("3", "3", "9", "7.2")
    feedback = (out / "feedback" / "alice.md").read_text()
    assert "**Score: 7.2 / 12** (9 before the late penalty; autograded 6 / 8, written 3 / 4)" in feedback
    assert "9 -> **7.2 / 12**" in feedback
