"""The main job: release every assignment, then grade its reference solution and its untouched
release with the hidden graders, on the embedded glyph data, and print the score table."""
from __future__ import annotations

import shutil
from pathlib import Path

from metakit.paths import REPO_ROOT


def run_demo(jobs: int = 2, hws: list[str] | None = None, out: Path = Path("out/demo")) -> int:
    from metakit.grading.release import assignments, generate_release
    from metakit.grading.report import summary_table, write_reports
    from metakit.grading.runner import Grader, Submission
    from metakit.grading.written_scores import maxima

    hws = hws or [hw for hw in assignments() if (REPO_ROOT / "autograder" / hw).exists()]
    tables, ok = [], True
    for hw in hws:
        generate_release(hw, REPO_ROOT / "assignments")
        print(f"released {hw} -> assignments/{hw}/")
        submissions = [
            Submission("reference", REPO_ROOT / "solutions" / hw / f"{hw}.ipynb"),
            Submission("untouched-release", REPO_ROOT / "assignments" / hw / f"{hw}.ipynb"),
        ]
        grader = Grader(hw)
        try:
            results = grader.grade_all(submissions, jobs=jobs)
        finally:
            grader.close()
        target = out / hw
        shutil.rmtree(target, ignore_errors=True)
        questions = maxima(REPO_ROOT / "assignments" / hw / f"{hw}.ipynb")
        written = write_reports(results, hw, target, isolation=grader.describe_isolation(), questions=questions)
        tables.append(summary_table(results, hw, written))
        reference = results[0]
        ok &= reference.score == reference.max_score and results[1].score == 0
    print("\n" + "\n".join(tables))
    print(f"reports in {out}/<hw>/ (feedback/, gradescope/, grades.csv, instructor.log)")
    if not ok:
        print("(!) a reference solution lost points or an untouched release scored: see instructor.log")
    return 0 if ok else 1
