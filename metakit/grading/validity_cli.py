"""The ``validity`` subcommand's arguments, kept apart from :mod:`metakit.grading.validity` so that
``python -m metakit`` does not import the mutation engine (libcst, nbformat) for other commands."""
from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from metakit.grading.validity import cmd_validity

    return cmd_validity(args)


def add_validity_command(subparsers) -> argparse.ArgumentParser:
    """Register ``validity`` on the ``python -m metakit`` subparsers."""
    p = subparsers.add_parser("validity", help="mutation testing of an assignment's hidden graders",
                              description="Mutation testing of an assignment's hidden graders (see docs/validity.md).")
    p.add_argument("hw")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    p.add_argument("--sample", type=int, default=None, metavar="K", help="grade K mutants picked with a seeded RNG")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    p.add_argument("--function", action="append", default=[], metavar="NAME",
                   help="only mutants of this graded function (e.g. softmax, MANN.forward); repeatable")
    p.add_argument("--out", default="out/validity", help="reports go to OUT/<hw>/ (default out/validity)")
    p.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "process"])
    p.add_argument("--via", default="engine", choices=["engine", "cli"],
                   help="engine (default): the grading engine of `metakit grade` in this process, each mutant "
                        "graded until its first failing test; cli: one `python -m metakit grade` per stage "
                        "(slower, same verdicts)")
    p.add_argument("--no-cache", action="store_true", help="rerun the probes even if nothing changed")
    p.add_argument("--no-probes", action="store_true",
                   help="skip the per-function probes: grade each mutant on every test until its first failure "
                        "(same verdicts; cheaper for a small --sample)")
    p.add_argument("--rescore", action="store_true",
                   help="no grading: write the last run's report again with the equivalence file as it is now")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when there are survivors, unnamed kills, wrong equivalences or broken tests")
    p.set_defaults(func=_run)
    return p
