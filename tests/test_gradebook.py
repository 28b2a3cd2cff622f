"""``python -m metakit gradebook``: the joined CSV, Canvas's import layout, nbgrader's gradebook.db
(round trip through nbgrader's API) and bad input. Fake grade folders written by write_reports."""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from metakit.__main__ import main
from metakit.grading.late import Lateness
from metakit.grading.report import write_reports
from metakit.grading.records import SubmissionResult, TestRecord

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,hw_a (101),Final Score
    Points Possible,,,,,8,
"Liddell, Alice",11,S11,alice,Sec 1,,
"Builder, Bob",12,S12,bob,Sec 1,,
"Carroll, Carol",13,S13,carol,Sec 2,,
"Newton, Dan",14,S14,dan,Sec 2,,
"""


def fake(student: str, points: dict[str, float], maxima: dict[str, float], fatal: str | None = None) -> SubmissionResult:
    tests = [TestRecord(name=name, file="test_a.py", title=name, points=points.get(name, 0.0), max_points=top,
                        passed=points.get(name, 0.0) == top)
             for name, top in maxima.items()]
    return SubmissionResult(student, tests, fatal=fatal)


@pytest.fixture
def grade_dirs(tmp_path: Path) -> list[Path]:
    """hw_a: alice 6/8, bob 8/8 two days late (20 % off), carol no notebook; hw_b: alice 3/4 only."""
    a_tests, b_tests = {"test_one": 5.0, "test_two": 3.0}, {"test_three": 4.0}
    bob = fake("bob", {"test_one": 5, "test_two": 3}, a_tests)
    bob.late = Lateness(datetime(2026, 3, 8, 12, 0, tzinfo=timezone.utc), "nbgrader timestamp.txt", 2, 0.2)
    hw_a = [fake("alice", {"test_one": 5, "test_two": 1}, a_tests), bob,
            fake("carol", {}, a_tests, fatal="no notebook (.ipynb) found in /x/carol")]
    write_reports(hw_a, "hw_a", tmp_path / "grades-a")
    write_reports([fake("alice", {"test_three": 3}, b_tests)], "hw_b", tmp_path / "grades-b")
    return [tmp_path / "grades-a", tmp_path / "grades-b"]


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_joined_table_leaves_missing_empty_and_lists_them(grade_dirs: list[Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "course.csv"
    assert main(["gradebook", *map(str, grade_dirs), "--out", str(out)]) == 0
    assert read_rows(out) == [["student", "hw_a", "hw_b", "total", "missing"],
                              ["alice", "6", "3", "9", ""],
                              ["bob", "6.4", "", "6.4", "hw_b"],
                              ["carol", "", "", "0", "hw_a hw_b"]]
    printed = capsys.readouterr().out
    assert "out of 12 points" in printed and "bob: hw_b" in printed and "carol: hw_a, hw_b" in printed


def test_canvas_layout(grade_dirs: list[Path], tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    canvas = tmp_path / "canvas.csv"
    assert main(["gradebook", *map(str, grade_dirs), "--out", str(tmp_path / "c.csv"), "--canvas", str(canvas),
                 "--roster", str(roster), "--canvas-id", "hw_b=202"]) == 0
    assert read_rows(canvas) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw_a (101)", "hw_b (202)"],
        ["Points Possible", "", "", "", "", "8", "4"],
        ["Builder, Bob", "12", "S12", "bob", "Sec 1", "6.4", ""],
        ["Carroll, Carol", "13", "S13", "carol", "Sec 2", "", ""],
        ["Liddell, Alice", "11", "S11", "alice", "Sec 1", "6", "3"],
        ["Newton, Dan", "14", "S14", "dan", "Sec 2", "", ""],
    ]


def test_nbgrader_gradebook_round_trip(grade_dirs: list[Path], tmp_path: Path) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    db = tmp_path / "gradebook.db"
    for _ in range(2):  # a second export updates the same rows
        assert main(["gradebook", *map(str, grade_dirs), "--out", str(tmp_path / "c.csv"), "--nbgrader-db", str(db)]) == 0
    with Gradebook(f"sqlite:///{db}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == ["alice", "bob"]
        assert [a.name for a in gradebook.assignments] == ["hw_a", "hw_b"]
        assert gradebook.find_grade_cell("test_one", "hw_a", "hw_a").max_score == 5
        assert gradebook.find_assignment("hw_a").max_score == 8
        alice = gradebook.find_submission("hw_a", "alice")
        assert (alice.score, alice.max_score) == (6, 8)
        assert gradebook.find_grade("test_two", "hw_a", "hw_a", "alice").auto_score == 1
        bob = gradebook.find_submission("hw_a", "bob")
        assert bob.score == 8 and bob.late_submission_penalty == pytest.approx(1.6)
        assert bob.timestamp == datetime(2026, 3, 8, 12, 0)  # nbgrader keeps UTC without a zone
        assert len(bob.notebooks[0].grades) == 2
        assert gradebook.find_submission("hw_b", "alice").score == 3
        for hw, student in (("hw_a", "carol"), ("hw_b", "bob")):
            with pytest.raises(MissingEntry):
                gradebook.find_submission(hw, student)


@pytest.mark.parametrize("roster_text, message", [
    ("Student,ID,SIS User ID,Section\nAlice,11,S11,Sec 1\n", r"roster.csv: the roster has no column 'SIS Login ID'"),
    ('Student,ID,SIS User ID,SIS Login ID,Section\n"Liddell, Alice",11,S11,,Sec 1\n',
     r"roster.csv, row 2: no SIS Login ID for 'Liddell, Alice'"),
    ("Student,ID,SIS User ID,SIS Login ID,Section\nA,11,S11,alice,1\nB,12,S12,alice,1\n",
     r"roster.csv, row 3: SIS Login ID 'alice' appears twice"),
    ("Student,ID,SIS User ID,SIS Login ID,Section\nA,11,S11,alice,1\n", r"roster.csv: no roster row for 'bob', 'carol'"),
])
def test_bad_roster_names_file_and_row_and_writes_nothing(grade_dirs: list[Path], tmp_path: Path, roster_text: str,
                                                          message: str, capsys: pytest.CaptureFixture) -> None:
    roster, out, canvas = tmp_path / "roster.csv", tmp_path / "course.csv", tmp_path / "canvas.csv"
    roster.write_text(roster_text)
    out.write_text("old\n")
    assert main(["gradebook", *map(str, grade_dirs), "--out", str(out), "--canvas", str(canvas),
                 "--roster", str(roster), "--nbgrader-db", str(tmp_path / "gradebook.db")]) == 2
    assert __import__("re").search(message, capsys.readouterr().err)
    assert out.read_text() == "old\n" and not canvas.exists() and not (tmp_path / "gradebook.db").exists()


def test_bad_grade_folders(grade_dirs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "course.csv"
    assert main(["gradebook", str(grade_dirs[1]), str(grade_dirs[1]), "--out", str(out)]) == 2
    assert "hw_b is given twice" in capsys.readouterr().err
    grades = grade_dirs[0] / "grades.csv"
    rows = read_rows(grades)
    rows[2][1] = "five"
    with open(grades, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    assert main(["gradebook", *map(str, grade_dirs), "--out", str(out)]) == 2
    assert "grades-a/grades.csv, row 3 (bob): test_one is 'five', not a number" in capsys.readouterr().err
    (grade_dirs[1] / "meta.json").unlink()
    assert main(["gradebook", str(grade_dirs[1]), "--out", str(out)]) == 2
    assert "grades-b: no meta.json" in capsys.readouterr().err
    assert not out.exists()
