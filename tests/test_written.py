"""Written answers graded by rubric: rubrics parsed and checked, the release hides them, answers
exported by question, scores imported into every report, and every bad scores CSV refused with
nothing written.

Autograded results are small fake :class:`~metakit.grading.records.SubmissionResult` records written with
:func:`~metakit.grading.report.write_reports` (what ``grade --out`` writes); one test grades
hw_example through the real CLI.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from metakit.__main__ import main
from metakit.grading import authoring
from metakit.grading.release import assignments, generate_release
from metakit.grading.report import summary_table, write_reports
from metakit.grading.records import SubmissionResult, TestRecord
from metakit.grading.written import (ANSWER_STUB, RubricError, WrittenQuestion, answer_text, read_answers,
                                     read_questions)
from metakit.grading.written_scores import WrittenBook, WrittenScore, maxima
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli

HW = "hw0"
SOURCE = REPO_ROOT / "solutions" / HW / f"{HW}.ipynb"
RELEASE = REPO_ROOT / "assignments" / HW / f"{HW}.ipynb"
GOOD_RUBRIC = "**Rubric**\n- 2: both parts\n- 1: one part\n- 0: neither"


# --------------------------------------------------------------------------- rubrics in the source
@pytest.mark.parametrize("hw", assignments())
def test_every_source_notebook_has_valid_rubrics(hw: str) -> None:
    """The authoring check the release runs: each written question has points and a valid rubric."""
    questions = read_questions(REPO_ROOT / "solutions" / hw / f"{hw}.ipynb")
    assert questions, f"{hw} has no written questions"
    for q in questions:
        assert q.points > 0 and max(level.points for level in q.rubric) == q.points, q.grade_id
        assert q.question and q.reference and all(level.description for level in q.rubric), q.grade_id
        assert "**Rubric**" not in q.reference and "BEGIN SOLUTION" not in q.question


def test_the_questions_and_their_parts_are_read() -> None:
    questions = {q.grade_id: q for q in read_questions(REPO_ROOT / "solutions" / "hw1" / "hw1.ipynb")}
    shuffle = questions["q_shuffle"]
    assert shuffle.points == 3 and [level.points for level in shuffle.rubric] == [3, 2, 1, 0]
    assert "Why must the query row be shuffled?" in shuffle.question, "the question is the markdown cell above"
    assert shuffle.reference.startswith("In class order") and shuffle.reference.endswith("class's query is.")
    assert shuffle.title.startswith("Q1. Why must the query row")
    inline = read_questions(SOURCE)[0]
    assert inline.question.startswith("**Question 1.**") and "BEGIN" not in inline.question, "question in the cell"


@pytest.mark.parametrize("question, title", [
    ("## Questions\n\n**Q1.** Why shuffle?\nAnd what else?", "Q1. Why shuffle?"),
    ("**C.3** Batch norm keeps no running averages, here, as in the lecture, which is the usual protocol "
     "for MAML. Explain.", "C.3 Batch norm keeps no running averages, here, as in the lecture, which is..."),
    ("Explain the role of the long inner loop with learning rate $\\alpha_{\\mathrm{inner}} = 0.4$ and more "
     "words after it", "Explain the role of the long inner loop with learning rate..."),
    ("", "q"),
])
def test_a_question_title_is_one_short_line(question: str, title: str) -> None:
    assert WrittenQuestion("q", question, 1).title == title


def rubric_notebook(tmp_path: Path, body: str, points: float = 2) -> Path:
    cells = [authoring.markdown("**Question.** Why?"),
             authoring.written_answer("why", f"Say why.\n\n### BEGIN SOLUTION\nBecause.\n\n{body}\n### END SOLUTION",
                                      points=points)]
    path = tmp_path / "hwx.ipynb"
    authoring.write(authoring.notebook(cells, "hwx"), path)
    return path


@pytest.mark.parametrize("body, points, message, bad_line", [
    (GOOD_RUBRIC, 3, "top level is 2 but the cell is worth 3 points", None),
    (GOOD_RUBRIC.replace("- 1: one part", "- 1 one part"), 2, "'- 1 one part' is not a rubric level", "- 1 one part"),
    (GOOD_RUBRIC.replace("- 1: one part", "* 1: one part"), 2, "is not a rubric level", "* 1: one part"),
    (GOOD_RUBRIC.replace("- 1: one part", "- 2: again"), 2, "the level 2 appears twice", "- 2: again"),
    (GOOD_RUBRIC.replace("- 1: one part", "- 1: "), 2, "the level 1 has no description", "- 1: "),
    (GOOD_RUBRIC.replace("**Rubric**", "Rubric:"), 2, "no '**Rubric**' line", None),
    ("**Rubric**", 2, "the rubric has no levels", None),
])
def test_a_bad_rubric_names_notebook_cell_and_line(tmp_path: Path, body: str, points: float, message: str,
                                                   bad_line: str | None) -> None:
    path = rubric_notebook(tmp_path, body, points)
    with pytest.raises(RubricError) as error:
        read_questions(path)
    text = str(error.value)
    assert "hwx.ipynb, cell why" in text and message in text, text
    if bad_line is not None:
        number = int(re.search(r"line (\d+)", text).group(1))
        cell_lines = "".join(nbformat.read(path, as_version=4).cells[1].source).split("\n")
        assert cell_lines[number - 1] == bad_line, f"line {number} of the cell is {cell_lines[number - 1]!r}"


def test_a_good_rubric_passes_the_same_parser(tmp_path: Path) -> None:
    (question,) = read_questions(rubric_notebook(tmp_path, GOOD_RUBRIC, 2))
    assert question.question == "Say why." and question.reference == "Because."
    assert [(lv.points, lv.description) for lv in question.rubric] == [(2, "both parts"), (1, "one part"), (0, "neither")]


def test_the_release_refuses_a_bad_rubric(tmp_path: Path) -> None:
    """``python -m metakit release`` checks the rubrics before nbgrader runs (and writes nothing)."""
    root = tmp_path / "kit"
    shutil.copytree(REPO_ROOT / "solutions" / "hw_example", root / "solutions" / "hw_example")
    path = root / "solutions" / "hw_example" / "hw_example.ipynb"
    path.write_text(path.read_text().replace("- 2: Both", "- 3: Both"))
    with pytest.raises(RubricError, match=r"hw_example.ipynb, cell why_max: the rubric's top level is 3"):
        generate_release("hw_example", tmp_path / "out", root)
    assert not (tmp_path / "out").exists()


def release_leaks(question: WrittenQuestion, released_cell: str) -> list[str]:
    """What of the reference answer or the rubric a released answer cell still shows."""
    leaks = [level.description for level in question.rubric if level.description in released_cell]
    leaks += [line for line in question.reference.splitlines() if len(line) > 20 and line in released_cell]
    return leaks + (["**Rubric**"] if "**Rubric**" in released_cell else [])


@pytest.mark.parametrize("hw", assignments())
def test_the_release_shows_the_question_but_not_the_rubric_or_the_answer(hw: str) -> None:
    released = json.loads((REPO_ROOT / "assignments" / hw / f"{hw}.ipynb").read_text())
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"]) for c in released["cells"]}
    text = "\n".join("".join(c["source"]) for c in released["cells"])
    release_questions = {q.grade_id: q for q in read_questions(REPO_ROOT / "assignments" / hw / f"{hw}.ipynb",
                                                               with_rubric=False)}
    for q in read_questions(REPO_ROOT / "solutions" / hw / f"{hw}.ipynb"):
        assert ANSWER_STUB in cells[q.grade_id] and q.question in text, q.grade_id
        assert release_questions[q.grade_id].points == q.points, "the release keeps nbgrader's points"
        assert not release_leaks(q, cells[q.grade_id]) and not release_leaks(q, text), q.grade_id


def test_the_leak_check_sees_a_rubric_left_in_a_release() -> None:
    question = read_questions(REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb")[0]
    assert release_leaks(question, f"{question.reference}\n")
    assert release_leaks(question, f"YOUR ANSWER HERE\n- 1: {question.rubric[1].description}")
    assert not release_leaks(question, ANSWER_STUB)


@pytest.mark.parametrize("cell, expected", [
    (ANSWER_STUB, None), ("", None), ("   \n", None), ("My answer.", "My answer."),
    (f"{ANSWER_STUB}\n\nMy answer.", "My answer."),
    ("**Question.** Why?\n\nYOUR ANSWER HERE", None), ("**Question.** Why?\n\nBecause $x_i$.", "Because $x_i$."),
])
def test_the_answer_is_what_replaced_the_stub(cell: str, expected: str | None) -> None:
    question = WrittenQuestion("q", "**Question.** Why?", 2, prefix="**Question.** Why?\n\n")
    assert answer_text(cell, question) == expected


# --------------------------------------------------------------------------- the batch: export, fill, import
ANSWERS = {
    "alice": {q: f"Answer A on {q}: the loss $\\mathcal{{L}}_i = x_i^2$ is *shared*. <script>alert(1)</script>"
              for q in ("answer_positive", "answer_negative", "answer_conflict", "answer_scale", "answer_mmoe")},
    "carol": {"answer_positive": "Answer C: positive transfer, +0.1.", "answer_mmoe": "Answer C: gates per task."},
}


def submission(answers: dict[str, str], path: Path) -> Path:
    notebook = json.loads(RELEASE.read_text())
    for cell in notebook["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell["source"] = "".join(cell["source"]).replace(ANSWER_STUB, answers[gid])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))
    return path


def fake_graded(student: str, points: list[float]) -> SubmissionResult:
    tests = [TestRecord(name=f"test_{i}", file="test_a.py", title=f"Test {i}", points=p, max_points=2.0,
                        passed=p == 2.0, message="" if p == 2.0 else "wrong", execution_time=0.1)
             for i, p in enumerate(points)]
    return SubmissionResult(student, tests, seconds=1.0)


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    """Three hw0 submissions (alice a file, bob the untouched release, carol in nbgrader's
    ``submitted/`` layout with three questions unanswered) and their autograded reports."""
    alice = submission(ANSWERS["alice"], tmp_path / "in" / "alice.ipynb")
    bob = tmp_path / "in" / "bob.ipynb"
    shutil.copy(RELEASE, bob)
    course = tmp_path / "course"
    submission(ANSWERS["carol"], course / "submitted" / "carol" / HW / f"{HW}.ipynb")
    grades = tmp_path / "grades"
    results = [fake_graded("alice", [2, 2]), fake_graded("bob", [0, 0]), fake_graded("carol", [2, 1])]
    write_reports(results, HW, grades, isolation="isolation: test", questions=maxima(RELEASE))
    return {"alice": alice, "bob": bob, "course": course, "grades": grades, "pages": tmp_path / "pages"}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def export(batch: dict[str, Path], *extra: str) -> None:
    assert main(["written", "export", HW, str(batch["alice"]), str(batch["bob"]), str(batch["course"]),
                 "--out", str(batch["pages"]), *extra]) == 0


def fill(scores: Path, points: dict[tuple[str, str], str]) -> None:
    """A grader filling the CSV: points and a comment on every row the export left empty."""
    table = rows(scores)
    for row in table:
        if not row["points"]:
            row["points"] = points.get((row["student"], row["question"]), "1")
            row["comment"] = f"Comment for {row['student']} on {row['question']}, with a comma"
    with open(scores, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)


def test_before_the_import_written_scores_are_empty_not_zero(batch: dict[str, Path]) -> None:
    table = rows(batch["grades"] / "grades.csv")
    header = list(table[0])
    assert header[-5:] == ["autograded", "written", "total", "max", "grader_errors"]
    assert [h for h in header if h.startswith("written:")] == [f"written:{q.grade_id}" for q in read_questions(SOURCE)]
    alice = table[0]
    assert alice["written"] == "" and all(alice[h] == "" for h in header if h.startswith("written:"))
    assert alice["autograded"] == alice["total"] == "4" and alice["max"] == "20", "max: 4 autograded + 16 written"
    feedback = (batch["grades"] / "feedback" / "alice.md").read_text()
    assert "written answers, 16 points, are not graded yet" in feedback and "0 / 3" not in feedback
    result = json.loads((batch["grades"] / "gradescope" / "alice.json").read_text())
    assert result["score"] == 4 and result["max_score"] == 4 and len(result["tests"]) == 2


def test_export_pages_and_scores_csv(batch: dict[str, Path]) -> None:
    export(batch)
    pages = batch["pages"]
    questions = read_questions(SOURCE)
    assert sorted(p.name for p in pages.iterdir()) == sorted(
        ["index.html", "scores.csv", *(f"{q.grade_id}.html" for q in questions)])
    first = (pages / "answer_positive.html").read_text()
    assert "Answer A on answer_positive" in first and "Answer C: positive transfer" in first
    assert "<em>shared</em>" in first, "markdown is rendered"
    assert "$\\mathcal{L}_i = x_i^2$" in first, "maths stays visible as LaTeX"
    assert "<script>" not in first and "&lt;script&gt;" in first, "a student's HTML is escaped"
    assert questions[0].rubric[0].description.split("`")[0][:40] in first and "Rubric" in first
    assert "0.837 mean test accuracy" in first, "the reference answer is on the page"
    bob = first.split("<h3 id='bob'>bob</h3>", 1)[1].split("</div>", 1)[0]
    assert "unanswered" in bob
    index = (pages / "index.html").read_text()
    assert "answer_mmoe.html" in index and "2 / 3" in index, "alice and carol answered question 5"
    table = rows(pages / "scores.csv")
    assert list(table[0]) == ["student", "question", "points", "comment"] and len(table) == 3 * 5
    unanswered = {(r["student"], r["question"]) for r in table if r["comment"] == "unanswered"}
    assert {("bob", q.grade_id) for q in questions} <= unanswered and ("carol", "answer_scale") in unanswered
    assert all(r["points"] == "0" for r in table if r["comment"] == "unanswered")
    assert all(r["points"] == "" for r in table if r["comment"] != "unanswered") and len(unanswered) == 5 + 3


def test_import_merges_written_scores_into_every_report(batch: dict[str, Path], capsys) -> None:
    export(batch)
    scores = batch["pages"] / "scores.csv"
    fill(scores, {("alice", "answer_negative"): "4", ("carol", "answer_positive"): "2.5"})
    capsys.readouterr()
    assert main(["written", "import", HW, str(scores), "--grades", str(batch["grades"])]) == 0
    printed = capsys.readouterr().out
    assert "imported 15 written score(s) for 3 student(s)" in printed

    table = {r["student"]: r for r in rows(batch["grades"] / "grades.csv")}
    alice, bob, carol = table["alice"], table["bob"], table["carol"]
    assert alice["written:answer_negative"] == "4" and alice["written:answer_positive"] == "1"
    assert alice["written"] == "8" and alice["total"] == "12" and alice["max"] == "20"  # 1+4+1+1+1
    assert bob["written"] == "0" and bob["total"] == "0" and bob["written:answer_mmoe"] == "0"
    assert carol["written"] == "3.5" and carol["autograded"] == "3" and carol["total"] == "6.5"
    assert carol["test_1"] == "1", "the autograded columns keep their meaning"

    feedback = (batch["grades"] / "feedback" / "alice.md").read_text()
    assert "**Score: 12 / 20** (autograded 4 / 4, written 8 / 16)" in feedback
    assert "4 / 4" in feedback and "Comment for alice on answer_negative, with a comma" in feedback
    assert "Comment for alice on answer_negative" in (batch["grades"] / "feedback" / "alice.html").read_text()
    assert "unanswered" in (batch["grades"] / "feedback" / "bob.md").read_text()

    for student, expected in (("alice", 12), ("bob", 0), ("carol", 6.5)):
        result = json.loads((batch["grades"] / "gradescope" / f"{student}.json").read_text())
        written = [t for t in result["tests"] if t["name"].startswith("Written: ")]
        assert len(written) == 5 and result["max_score"] == 20
        assert result["score"] == expected == sum(t["score"] for t in result["tests"])
    summary = (batch["grades"] / "summary.txt").read_text()
    assert re.search(r"alice\s+4 / 4\s+8 / 16\s+12 / 20", summary), summary
    assert (batch["grades"] / "instructor.log").read_text().startswith("isolation: test"), "left as it was"


def test_a_second_import_adds_to_the_first_and_a_regrade_keeps_both(batch: dict[str, Path]) -> None:
    first = batch["grades"].parent / "first.csv"
    first.write_text("student,question,points,comment\nalice,answer_positive,3,good\n")
    second = batch["grades"].parent / "second.csv"
    second.write_text("student,question,points,comment\nalice,answer_mmoe,1,half\ncarol,answer_mmoe,,\n")
    for scores in (first, second):
        assert main(["written", "import", HW, str(scores), "--grades", str(batch["grades"])]) == 0
    alice = rows(batch["grades"] / "grades.csv")[0]
    assert (alice["written:answer_positive"], alice["written:answer_mmoe"], alice["written"]) == ("3", "1", "4")
    assert alice["written:answer_scale"] == "", "a question nobody graded stays empty"
    assert "some not graded yet" in (batch["grades"] / "feedback" / "alice.md").read_text()
    carol = rows(batch["grades"] / "grades.csv")[2]
    assert carol["written"] == "" and carol["total"] == "3", "an empty points cell is not graded yet"
    write_reports([fake_graded("alice", [2, 0])], HW, batch["grades"], questions=maxima(RELEASE))
    alice = rows(batch["grades"] / "grades.csv")[0]
    assert (alice["autograded"], alice["written"], alice["total"]) == ("2", "4", "6"), "the regrade kept them"


BAD_CSVS = {
    "unknown student": ("student,question,points,comment\nalice,answer_positive,1,\nmallory,answer_mmoe,1,\n",
                        "row 3: unknown student 'mallory'"),
    "unknown question": ("student,question,points,comment\nalice,answer_nope,1,\n", "row 2: unknown question 'answer_nope'"),
    "too many points": ("student,question,points,comment\nalice,answer_mmoe,3,\n", "row 2: points 3 out of range"),
    "negative points": ("student,question,points,comment\nalice,answer_mmoe,-1,\n", "row 2: points -1 out of range"),
    "not a number": ("student,question,points,comment\nalice,answer_mmoe,two,\n", "row 2: points 'two' is not a number"),
    "not finite": ("student,question,points,comment\nalice,answer_mmoe,nan,\n", "row 2: points nan out of range"),
    "duplicate": ("student,question,points,comment\nalice,answer_mmoe,1,\nbob,answer_mmoe,0,\nalice,answer_mmoe,2,\n",
                  "row 4: alice / answer_mmoe is scored twice (also in row 2)"),
    "missing column": ("student,question,comment\nalice,answer_mmoe,ok\n", "row 1: missing column(s) points"),
    "empty file": ("", "row 1: missing column(s) student, question, points, comment"),
    "unquoted comma": ("student,question,points,comment\nalice,answer_mmoe,1,good, but short\n",
                       "row 2: 5 fields for 4 columns"),
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_a_bad_scores_csv_is_refused_and_nothing_changes(batch: dict[str, Path], case: str, capsys) -> None:
    good = batch["grades"].parent / "good.csv"
    good.write_text("student,question,points,comment\nalice,answer_positive,2,earlier import\n")
    assert main(["written", "import", HW, str(good), "--grades", str(batch["grades"])]) == 0
    before = snapshot(batch["grades"])
    text, message = BAD_CSVS[case]
    scores = batch["grades"].parent / "bad.csv"
    scores.write_text(text)
    capsys.readouterr()
    assert main(["written", "import", HW, str(scores), "--grades", str(batch["grades"])]) == 2
    error = capsys.readouterr().err
    assert f"{scores}, {message}" in error, error
    assert snapshot(batch["grades"]) == before, "a refused import must leave every file as it was"


def test_import_needs_a_grades_folder_of_the_same_assignment(batch: dict[str, Path], tmp_path: Path, capsys) -> None:
    scores = tmp_path / "s.csv"
    scores.write_text("student,question,points,comment\n")
    assert main(["written", "import", HW, str(scores), "--grades", str(tmp_path / "nothing")]) == 2
    assert "has no graded.json" in capsys.readouterr().err
    assert main(["written", "import", "hw1", str(scores), "--grades", str(batch["grades"])]) == 2
    assert "holds the grades of hw0, not hw1" in capsys.readouterr().err


def test_an_anonymised_export_uses_stable_pseudonyms_and_a_separate_key(batch: dict[str, Path], capsys) -> None:
    export(batch, "--anonymise")
    key = batch["pages"].parent / "pages-key.csv"
    aliases = {r["student"]: r["pseudonym"] for r in rows(key)}
    assert sorted(aliases) == ["alice", "bob", "carol"] and len(set(aliases.values())) == 3
    for page in batch["pages"].iterdir():
        text = page.read_text()
        assert not any(re.search(rf"\b{name}\b", text, re.IGNORECASE) for name in aliases), page.name
    first = (batch["pages"] / "answer_mmoe.html").read_text()
    export(batch, "--anonymise")
    assert (batch["pages"] / "answer_mmoe.html").read_text() == first, "the same seed, the same pages"
    assert {r["student"]: r["pseudonym"] for r in rows(key)} == aliases
    export(batch, "--anonymise", "--seed", "another")
    assert {r["student"]: r["pseudonym"] for r in rows(key)} != aliases, "the seed changes the pseudonyms"
    export(batch, "--anonymise")

    scores = batch["pages"] / "scores.csv"
    fill(scores, {})
    capsys.readouterr()
    assert main(["written", "import", HW, str(scores), "--grades", str(batch["grades"])]) == 2
    error = capsys.readouterr().err
    assert "unknown student 'student-" in error and "with --key" in error, error
    assert main(["written", "import", HW, str(scores), "--grades", str(batch["grades"]), "--key", str(key)]) == 0
    table = {r["student"]: r for r in rows(batch["grades"] / "grades.csv")}
    assert table["alice"]["written"] == "5" and table["bob"]["written"] == "0" and table["carol"]["written"] == "2"


def test_read_answers_marks_missing_cells_unanswered(tmp_path: Path) -> None:
    notebook = json.loads(RELEASE.read_text())
    notebook["cells"] = [c for c in notebook["cells"]
                         if c["metadata"].get("nbgrader", {}).get("grade_id") != "answer_mmoe"]
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(notebook))
    answers = read_answers(path, read_questions(SOURCE))
    assert set(answers) == {q.grade_id for q in read_questions(SOURCE)} and all(a is None for a in answers.values())


def test_summary_table_shows_autograded_written_and_total() -> None:
    questions = maxima(RELEASE)
    graded = [fake_graded("alice", [2, 1])]
    before = summary_table(graded, HW, WrittenBook(questions))
    assert re.search(r"alice\s+3 / 4\s+- / 16\s+3 / 20", before), before
    after = summary_table(graded, HW, WrittenBook(questions, {"alice": {"answer_mmoe": WrittenScore(2)}}))
    assert re.search(r"alice\s+3 / 4\s+2 / 16\s+5 / 20", after), after
    assert "autograded" in before.splitlines()[1] and "written" in before.splitlines()[1]


def test_grade_export_and_import_hw_example_through_the_cli(tmp_path: Path) -> None:
    """The real grader on hw_example's reference, then its written answer exported, scored, imported."""
    reference = REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"
    grades = tmp_path / "grades"
    run = grade_cli("hw_example", [reference], grades, jobs=1, extra=["--tests", "test_accuracy,test_softmax_values"])
    assert re.search(r"hw_example\s+3 / 3\s+- / 2\s+3 / 5", run.stdout), run.stdout
    assert main(["written", "export", "hw_example", str(reference), "--out", str(tmp_path / "pages")]) == 0
    scores = tmp_path / "pages" / "scores.csv"
    assert rows(scores) == [{"student": "hw_example", "question": "why_max", "points": "", "comment": ""}]
    scores.write_text("student,question,points,comment\nhw_example,why_max,2,Both parts.\n")
    assert main(["written", "import", "hw_example", str(scores), "--grades", str(grades)]) == 0
    result = json.loads((grades / "gradescope" / "hw_example.json").read_text())
    assert result["score"] == result["max_score"] == 5
    assert rows(grades / "grades.csv")[0]["total"] == "5"
