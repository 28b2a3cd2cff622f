"""``python -m metakit gradebook GRADES_DIR... --out grades.csv [--canvas canvas.csv --roster roster.csv]
[--nbgrader-db gradebook.db]``: every assignment's grades joined per student (see
:mod:`metakit.grading.gradebook`, :mod:`metakit.grading.canvas`, :mod:`metakit.grading.nbgrader_gradebook`).

Every input is read and checked before anything is written: a bad folder, grades.csv or roster
stops the export with a message naming the file and row, and leaves existing outputs as they were.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def cmd_gradebook(args: argparse.Namespace) -> int:
    from metakit.grading.canvas import parse_canvas_ids, read_roster, write_canvas_csv
    from metakit.grading.gradebook import join, missing_report, read_grades_dir, write_course_csv

    if args.canvas and not args.roster:
        raise ValueError("--canvas needs --roster (Canvas's gradebook export, for the students' Canvas ids)")
    assignments = [read_grades_dir(Path(folder)) for folder in args.grades_dirs]
    roster = read_roster(Path(args.roster), key=args.roster_key) if args.roster else None
    ids = parse_canvas_ids(args.canvas_id)
    table = join(assignments, also=list(roster.people) if roster else None)
    if roster is not None:
        unknown = [s for s in table.students if s not in roster.people]
        if unknown:
            raise ValueError(f"{roster.path}: no roster row for {', '.join(map(repr, unknown))}, who have grades")
    write_course_csv(table, Path(args.out))
    print(f"wrote {args.out}: {len(table.students)} students, {', '.join(a.hw for a in assignments)} "
          f"(out of {table.max_total():g} points)")
    if args.canvas:
        write_canvas_csv(table, roster, Path(args.canvas), ids)
        print(f"wrote {args.canvas} (Canvas gradebook import)")
    if args.nbgrader_db:
        from metakit.grading.nbgrader_gradebook import write_nbgrader_gradebook

        write_nbgrader_gradebook(table, Path(args.nbgrader_db), course_id=args.course_id)
        print(f"wrote the scores into {args.nbgrader_db} (nbgrader's gradebook)")
    lines = missing_report(table)
    if lines:
        print(f"missing submissions ({len(lines)} students; left empty, not 0):")
        print("\n".join(f"  {line}" for line in lines))
    return 0


def add_gradebook_command(subparsers) -> argparse.ArgumentParser:
    """Register ``gradebook`` on the ``python -m metakit`` subparsers."""
    p = subparsers.add_parser("gradebook", help="join every assignment's grades.csv into one gradebook "
                                                "(CSV, Canvas import, nbgrader's gradebook.db)")
    p.add_argument("grades_dirs", nargs="+", metavar="GRADES_DIR", help="folders written by `metakit grade --out`")
    p.add_argument("--out", default="grades.csv", help="the joined table (default grades.csv)")
    p.add_argument("--canvas", default=None, metavar="CSV", help="also write Canvas's gradebook import file")
    p.add_argument("--roster", default=None, metavar="CSV", help="Canvas's gradebook export: the students' Canvas ids")
    p.add_argument("--roster-key", default="SIS Login ID",
                   help="the roster column holding the kit's student names (default: SIS Login ID)")
    p.add_argument("--canvas-id", action="append", default=[], metavar="HW=ID",
                   help="Canvas's id of an assignment (default: from the roster's '<hw> (<id>)' columns)")
    p.add_argument("--nbgrader-db", default=None, metavar="DB", help="also write the scores into this gradebook.db")
    p.add_argument("--course-id", default="", help="nbgrader's course id (default: nbgrader's default, empty)")
    p.set_defaults(func=cmd_gradebook)
    return p
