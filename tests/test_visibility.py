"""Per-test visibility in local feedback: hidden and after_due_date tests are withheld from students
before the deadline; grades.csv, the Gradescope JSON and the instructor log keep every test."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from metakit.grading.report import write_reports
from metakit.grading.records import SubmissionResult, TestRecord
from metakit.grading.visibility import WITHHELD_AFTER_DEADLINE, WITHHELD_BEFORE_DEADLINE, withheld_visibilities

DEADLINE = datetime(2026, 3, 6, 23, 59, tzinfo=timezone.utc)


def graded_with_visibilities() -> SubmissionResult:
    def test(name: str, visibility: str, points: float) -> TestRecord:
        return TestRecord(name=name, file="test_a.py", title=f"title of {name}", points=points, max_points=2.0,
                          passed=points == 2.0, message="" if points == 2.0 else f"message of {name}",
                          visibility=visibility)

    return SubmissionResult("alice", [test("test_shown", "visible", 2.0), test("test_later", "after_due_date", 0.0),
                            test("test_secret", "hidden", 1.0), test("test_published", "after_published", 2.0)])


def test_which_visibilities_are_withheld_when() -> None:
    before, after = DEADLINE - timedelta(minutes=1), DEADLINE + timedelta(minutes=1)
    assert withheld_visibilities(DEADLINE, before) == WITHHELD_BEFORE_DEADLINE == {"hidden", "after_due_date"}
    assert withheld_visibilities(DEADLINE, after) == WITHHELD_AFTER_DEADLINE == {"hidden"}
    assert withheld_visibilities(None, after) == WITHHELD_BEFORE_DEADLINE  # no deadline: wait for --show-hidden
    assert withheld_visibilities(DEADLINE, before, show_hidden=True) == frozenset()


def test_feedback_before_deadline_withholds_but_grades_keep_everything(tmp_path: Path) -> None:
    write_reports([graded_with_visibilities()], "hw_example", tmp_path, withheld=WITHHELD_BEFORE_DEADLINE)
    feedback = (tmp_path / "feedback" / "alice.md").read_text()
    assert "title of test_shown" in feedback and "title of test_published" in feedback
    for secret in ("test_later", "test_secret"):
        assert secret not in feedback and secret not in (tmp_path / "feedback" / "alice.html").read_text()
    assert "**Score on the tests shown: 4 / 4**" in feedback
    assert "1 hidden test, shown after the deadline and 1 hidden test not shown in feedback (4 points" in feedback
    row = next(csv.DictReader((tmp_path / "grades.csv").open()))
    assert (row["test_later"], row["test_secret"], row["total"], row["max"]) == ("0", "1", "5", "8")
    log = (tmp_path / "instructor.log").read_text()
    assert "message of test_later" in log and "message of test_secret" in log
    gradescope = json.loads((tmp_path / "gradescope" / "alice.json").read_text())
    assert {t["visibility"] for t in gradescope["tests"]} == {"visible", "after_due_date", "hidden", "after_published"}


def test_feedback_after_deadline_and_show_hidden(tmp_path: Path) -> None:
    write_reports([graded_with_visibilities()], "hw_example", tmp_path / "after", withheld=WITHHELD_AFTER_DEADLINE)
    feedback = (tmp_path / "after" / "feedback" / "alice.md").read_text()
    assert "message of test_later" in feedback and "test_secret" not in feedback
    assert "1 hidden test not shown in feedback (2 points" in feedback
    write_reports([graded_with_visibilities()], "hw_example", tmp_path / "all", withheld=frozenset())
    feedback = (tmp_path / "all" / "feedback" / "alice.md").read_text()
    assert "message of test_secret" in feedback and "**Score: 5 / 8**" in feedback and "hidden test" not in feedback
