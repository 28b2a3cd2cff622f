"""``python -m metakit similarity HW SUBMISSIONS... --out DIR``: which submissions look copied
(see :mod:`metakit.grading.similarity`). It reports; it never changes a score."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_similarity(args: argparse.Namespace) -> int:
    from metakit.grading.runner import Kit, find_submissions
    from metakit.grading.similarity import NOISE_CHARS, MissingCopydetect, similarity_report

    kit = Kit(Path(args.kit_root).resolve()) if args.kit_root else Kit()
    template = kit.template(args.hw)
    if not template.exists():
        raise FileNotFoundError(f"no released notebook for {args.hw}: {template} (run `python -m metakit release`)")
    submissions = find_submissions([Path(p).resolve() for p in args.submissions], args.hw)
    out = Path(args.out)
    try:
        pairs = similarity_report(args.hw, template, submissions, out, top=args.top,
                                  noise=args.noise if args.noise is not None else NOISE_CHARS)
    except MissingCopydetect as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.hw}: {len(submissions)} submissions, {len(pairs)} pairs compared; most similar:")
    for p in pairs[:5]:
        print(f"  {p.similarity:5.0%}  {p.a} / {p.b} ({p.overlap_tokens} shared tokens)")
    print(f"report in {out / 'similarity.html'} (every pair in {out / 'pairs.csv'}); no score was changed")
    return 0


def add_similarity_command(subparsers) -> argparse.ArgumentParser:
    """Register ``similarity`` on the ``python -m metakit`` subparsers."""
    p = subparsers.add_parser("similarity", help="rank pairs of submissions by shared code (starter code removed)")
    p.add_argument("hw")
    p.add_argument("submissions", nargs="+", help="notebooks, folders of them, or nbgrader's submitted/")
    p.add_argument("--out", default="similarity", help="folder for similarity.html and pairs.csv")
    p.add_argument("--top", type=int, default=50, help="pairs shown with their overlaps in the HTML (default 50)")
    p.add_argument("--noise", type=int, default=None,
                   help="shortest match counted, in characters of normalised code (default: copydetect's 25)")
    p.add_argument("--kit-root", default=None, help="folder holding assignments/")
    p.set_defaults(func=cmd_similarity)
    return p
