"""``python -m metakit validity HW`` (:func:`cmd_validity`) and ``python -m metakit.grading.validity
HW`` (:func:`main`); the arguments are in :mod:`metakit.grading.validity_cli`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metakit.grading.validity.markdown import table
from metakit.grading.validity.run import rescore, run_validity
from metakit.grading.validity_cli import add_validity_command  # the parser lives there


def cmd_validity(args: argparse.Namespace) -> int:
    out = Path(args.out) / args.hw
    if args.rescore:
        report = rescore(args.hw, out)
    else:
        report = run_validity(args.hw, out, jobs=args.jobs, sample=args.sample, seed=args.seed,
                              only_functions=args.function or None, isolation=args.isolation,
                              use_cache=not args.no_cache, via=args.via, probe=not args.no_probes)
    print(f"{args.hw}: mutation testing of the hidden graders ({report.seconds / 60:.1f} min)")
    print(table(report))
    print(f"{len(report.survivors)} survivors, {len(report.unnamed)} caught without naming the function, "
          f"{len(report.wrongly_equivalent)} wrongly listed as equivalent, {len(report.probes.broken)} "
          f"tests failing on the reference")
    print(f"report: {out / 'report.md'} (survivors with their diffs), {out / 'results.json'}")
    problems = report.survivors or report.unnamed or report.wrongly_equivalent or report.probes.broken
    return 1 if args.strict and problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metakit.grading.validity")
    add_validity_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validity", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
