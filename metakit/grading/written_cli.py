"""``python -m metakit written export|import``: grade written answers by question, then merge the
scores into the reports that ``python -m metakit grade --out DIR`` wrote.

* ``written export HW SUBMISSIONS... --out PAGES [--anonymise]``: a page per question
  (:mod:`metakit.grading.written_export`) and ``PAGES/scores.csv`` to fill.
* ``written import HW SCORES.csv --grades DIR [--key KEY.csv]``: checks every row of the CSV
  (:func:`metakit.grading.written_scores.read_scores`) and only then writes DIR's ``grades.csv``,
  ``feedback/``, ``gradescope/``, ``summary.txt`` and ``written.json`` again, with the written scores.
  On any error nothing is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from metakit.paths import REPO_ROOT


def source_notebook(hw: str, kit_root: str | None) -> Path:
    """The instructor's notebook of ``hw``, where the rubrics are."""
    path = Path(kit_root or REPO_ROOT) / "solutions" / hw / f"{hw}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no source notebook for {hw}: {path} does not exist")
    return path


def cmd_export(args: argparse.Namespace) -> int:
    from metakit.grading.runner import find_submissions
    from metakit.grading.written import read_questions
    from metakit.grading.written_export import export

    questions = read_questions(source_notebook(args.hw, args.kit_root))
    if not questions:
        raise ValueError(f"{args.hw} has no written questions")
    submissions = find_submissions([Path(p).resolve() for p in args.submissions], args.hw)
    out = Path(args.out)
    key = export(args.hw, submissions, questions, out, anonymise=args.anonymise,
                 key_path=Path(args.key) if args.key else None, seed=args.seed)
    print(f"wrote {len(questions)} question pages for {len(submissions)} submissions: {out / 'index.html'}")
    print(f"fill {out / 'scores.csv'}, then: python -m metakit written import {args.hw} {out / 'scores.csv'} "
          f"--grades DIR{f' --key {key}' if key else ''}")
    if key:
        print(f"the pseudonyms' key is in {key}: keep it away from the graders")
    return 0


def import_scores(hw: str, scores_csv: Path, grades: Path, source: Path, key: Path | None = None) -> dict:
    """Validate ``scores_csv`` and merge it into the reports in ``grades``; nothing is written
    unless every row is valid. The imported scores, by student and question."""
    from metakit.grading.assignment import load_config
    from metakit.grading.report import load_graded, load_withheld, report_files, write_files
    from metakit.grading.written import read_questions
    from metakit.grading.written_export import read_key
    from metakit.grading.written_scores import QuestionMax, WrittenBook, load_book, read_scores

    graded_hw, results = load_graded(grades)
    if graded_hw != hw:
        raise ValueError(f"{grades} holds the grades of {graded_hw}, not {hw}")
    questions = [QuestionMax(q.grade_id, q.title, q.points) for q in read_questions(source)]
    aliases = read_key(key) if key else None
    scores = read_scores(scores_csv, questions, {g.student for g in results}, aliases)
    previous = load_book(grades)
    book = WrittenBook(questions, previous.scores if previous else {}).merged(scores)
    policy = load_config(hw, source.parent.parent.parent).late if _is_kit_source(source, hw) else None
    write_files(grades, report_files(results, hw, book, load_withheld(grades), policy))
    return scores


def _is_kit_source(source: Path, hw: str) -> bool:
    """``source`` is ``<kit>/solutions/<hw>/<hw>.ipynb`` (so ``<kit>/autograder/<hw>`` has its late policy)."""
    return source.parent.name == hw and source.parent.parent.name == "solutions"


def cmd_import(args: argparse.Namespace) -> int:
    grades = Path(args.grades)
    scores = import_scores(args.hw, Path(args.scores), grades, source_notebook(args.hw, args.kit_root),
                           Path(args.key) if args.key else None)
    rows = sum(len(by_question) for by_question in scores.values())
    print(f"imported {rows} written score(s) for {len(scores)} student(s) into {grades} "
          "(grades.csv, feedback/, gradescope/, summary.txt)")
    print((grades / "summary.txt").read_text(), end="")
    return 0


def add_written_command(subparsers) -> argparse.ArgumentParser:
    """Register ``written`` (with ``export`` and ``import``) on the ``python -m metakit`` subparsers."""
    p = subparsers.add_parser("written", help="grade written answers by question (export pages, import scores)",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="written_command", required=True)
    e = sub.add_parser("export", help="a page per question with every answer, and scores.csv to fill")
    e.add_argument("hw")
    e.add_argument("submissions", nargs="+", help="notebooks, folders of them, or nbgrader's submitted/")
    e.add_argument("--out", required=True, help="folder for the pages and scores.csv")
    e.add_argument("--anonymise", action="store_true", help="pseudonyms instead of names (key written apart)")
    e.add_argument("--key", default=None, help="where the pseudonyms' key goes (default: OUT-key.csv next to OUT)")
    e.add_argument("--seed", default="metakit", help="seed of the pseudonyms (the same seed, the same pseudonyms)")
    e.add_argument("--kit-root", default=None, help="folder holding solutions/ (default: this kit)")
    e.set_defaults(func=cmd_export)
    i = sub.add_parser("import", help="check a filled scores.csv and merge it into a grades folder")
    i.add_argument("hw")
    i.add_argument("scores", help="the filled scores.csv")
    i.add_argument("--grades", required=True, help="the folder `python -m metakit grade --out` wrote")
    i.add_argument("--key", default=None, help="the key file of an anonymised export")
    i.add_argument("--kit-root", default=None, help="folder holding solutions/ (default: this kit)")
    i.set_defaults(func=cmd_import)
    return p
