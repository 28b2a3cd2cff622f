"""``python -m metakit``: data, release, check, grade, gradescope, validity, written, gradebook,
similarity, and the demo (the main job)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from metakit.paths import REPO_ROOT

EXIT_GRADER_ERROR = 3  # something failed on the grading side; the reports say which tests


def cmd_release(args: argparse.Namespace) -> int:
    from metakit.grading.release import assignments, generate_release

    for hw in args.hw or assignments():
        target = generate_release(hw, REPO_ROOT / "assignments")
        print(f"released {hw} -> {target.relative_to(REPO_ROOT)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from metakit.grading.check import check_notebook

    result = check_notebook(Path(args.notebook), hw=args.hw, isolation=args.isolation)
    print(result.render())
    return 0 if result.ok else 1


def cmd_grade(args: argparse.Namespace) -> int:
    from metakit.grading.errors import GraderError
    from metakit.grading.late import assess_submissions, parse_time
    from metakit.grading.report import gradescope_results, summary_table, write_reports
    from metakit.grading.runner import Grader, Kit, find_submissions, gradescope_submission
    from metakit.grading.visibility import withheld_visibilities
    from metakit.grading.written_scores import maxima

    kit = Kit(Path(args.kit_root).resolve()) if args.kit_root else Kit()
    paths = [Path(p).resolve() for p in args.submissions]
    if args.gradescope:
        submissions = [gradescope_submission(paths[0], args.hw)]
    else:
        submissions = find_submissions(paths, args.hw)
    out = Path(args.out).resolve()
    policy = kit.config(args.hw).late
    # Gradescope applies its own late policy: no penalty here
    lateness = assess_submissions(None if args.gradescope else policy, submissions,
                                  Path(args.times) if args.times else None)
    withheld = withheld_visibilities(policy.deadline if policy else None,
                                     parse_time(args.feedback_date, "--feedback-date") if args.feedback_date
                                     else datetime.now(timezone.utc), args.show_hidden)
    hidden = [*paths, out, *(Path(p) for p in args.hide), *([Path(args.times).resolve()] if args.times else [])]
    only = [name for group in args.tests for name in group.replace(",", " ").split()] or None
    try:
        grader = Grader(args.hw, kit, isolation=args.isolation, extra_hidden=hidden, only=only,
                        report=lambda text: print(text, file=sys.stderr), workers=args.workers)
    except GraderError as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    print(grader.describe_isolation(), file=sys.stderr)
    try:
        results = grader.grade_all(submissions, jobs=args.jobs, progress=not args.no_progress)
    finally:
        grader.close()
    for graded in results:
        graded.late = lateness.get(graded.student)
    written = write_reports(results, args.hw, out, isolation=grader.describe_isolation(),
                            questions=maxima(kit.template(args.hw)), withheld=withheld, policy=policy)
    if args.gradescope:
        Path(args.gradescope).parent.mkdir(parents=True, exist_ok=True)
        Path(args.gradescope).write_text(json.dumps(gradescope_results(results[0]), indent=1))
    print(summary_table(results, args.hw, written), end="")
    print(f"reports in {out} (feedback/, gradescope/, grades.csv, instructor.log)")
    errors = [(g.student, t) for g in results for t in g.grader_errors]
    if errors:
        print(f"grader error: {len(errors)} test(s) failed on the grading side, not in student code; "
              f"regrade them once the cause is fixed (details in {out / 'instructor.log'}):", file=sys.stderr)
        for student, test in errors[:20]:
            cause = test.instructor_details.strip().splitlines()
            print(f"  {student} / {test.name}: {cause[0][:300] if cause else 'see the log'}", file=sys.stderr)
        return EXIT_GRADER_ERROR
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from metakit.grading.assignment import load_config
    from metakit.grading.gradescope import build_autograder_zip, settings_line
    from metakit.paths import REPO_ROOT

    path = build_autograder_zip(args.hw, Path(args.out))
    print(f"wrote {path}: upload it as the Gradescope autograder of {args.hw}")
    print(f"container settings: {settings_line(load_config(args.hw, REPO_ROOT))}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from metakit.demo import run_demo

    return run_demo(jobs=args.jobs, hws=args.hw, out=Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m metakit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    try:
        from metakit.cli.data import add_data_commands
    except ImportError:  # pragma: no cover - the data CLI is part of the package
        pass
    else:
        add_data_commands(sub)

    p = sub.add_parser("release", help="make the student notebooks in assignments/ with nbgrader")
    p.add_argument("hw", nargs="*", help="assignments to release (default: all in solutions/)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("check", help="run the public checks of your notebook the way the grader runs it")
    p.add_argument("notebook")
    p.add_argument("--hw", default=None, help="assignment name (default: from the notebook)")
    p.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "process"],
                   help="how your code is isolated (default: the strongest that works here)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("grade", help="grade submissions with the hidden graders")
    p.add_argument("hw")
    p.add_argument("submissions", nargs="+", help="notebooks, folders of them, or nbgrader's submitted/")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    p.add_argument("--out", default="grades", help="folder for the reports (default: grades/)")
    p.add_argument("--gradescope", default=None, metavar="RESULTS_JSON",
                   help="treat the one submission folder as Gradescope's and write results.json here")
    p.add_argument("--kit-root", default=None, help="folder holding assignments/ and autograder/")
    p.add_argument("--hide", action="append", default=[], help="another path student code must not see")
    p.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "process"])
    p.add_argument("--workers", default="fork", choices=["fork", "fresh"],
                   help="fork each test's worker from one zygote per submission (default), or start a fresh "
                        "interpreter per test")
    p.add_argument("--tests", action="append", default=[], metavar="NAMES",
                   help="grade only these hidden tests (comma-separated names; e.g. to regrade one question)")
    p.add_argument("--times", default=None, metavar="CSV",
                   help="submission times (student,timestamp ISO 8601) for the late policy, where nbgrader's "
                        "timestamp.txt is not there (default: timestamp.txt, else the file's modification time)")
    p.add_argument("--show-hidden", action="store_true",
                   help="show every test in the feedback, hidden and after_due_date ones too (after the deadline)")
    p.add_argument("--feedback-date", default=None, metavar="ISO8601",
                   help="write the feedback as of this time (default now): after_due_date tests are shown once "
                        "it is past the late policy's deadline")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("gradescope", help="build a Gradescope autograder zip")
    p.add_argument("hw")
    p.add_argument("--out", default="autograder.zip")
    p.set_defaults(func=cmd_gradescope)

    from metakit.grading.validity_cli import add_validity_command

    add_validity_command(sub)

    from metakit.grading.written_cli import add_written_command

    add_written_command(sub)

    from metakit.grading.gradebook_cli import add_gradebook_command

    add_gradebook_command(sub)

    from metakit.grading.similarity_cli import add_similarity_command

    add_similarity_command(sub)

    p = sub.add_parser("demo", help="release every assignment and grade the reference solutions")
    p.add_argument("--hw", nargs="*", default=None)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default="out/demo")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
