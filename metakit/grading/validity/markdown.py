"""The report of a run: the console table, ``report.md`` and ``results.json``."""
from __future__ import annotations

import json
from pathlib import Path

from metakit.grading.validity.outcomes import EQUIVALENTS_FILE, names_at_fault
from metakit.grading.validity.summary import Report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table(report: Report) -> str:
    head = f"{'function':<40} {'generated':>9} {'killed':>7} {'survived':>8} {'timed out':>9} {'invalid':>7} " \
           f"{'equiv.':>6} {'score':>6}"
    lines = [head, "-" * len(head)]
    for row in report.rows():
        lines.append(f"{row['function']:<40} {row['generated']:>9} {row['killed']:>7} {row['survived']:>8} "
                     f"{row['timed out']:>9} {row['invalid']:>7} {row['equivalent']:>6} {_pct(row['score']):>6}")
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    lines = [f"# Mutation testing of the {report.hw} graders", "",
             f"{len(report.outcomes)} mutants graded"
             + (f" (a sample of {report.sample}, seed {report.seed})" if report.sample else " (all)")
             + f" in {report.seconds / 60:.1f} min through `python -m metakit grade`.", "",
             "| function | generated | killed | survived | timed out | invalid | equivalent | score |",
             "|---|---|---|---|---|---|---|---|"]
    for row in report.rows():
        lines.append(f"| {row['function']} | {row['generated']} | {row['killed']} | {row['survived']} | "
                     f"{row['timed out']} | {row['invalid']} | {row['equivalent']} | {_pct(row['score'])} |")
    if report.probes.broken:
        lines += ["", "## Tests that fail on the reference (not used)", ""]
        lines += [f"- `{t}`: {' '.join(m.split())[:300]}" for t, m in report.probes.broken.items()]
    lines += ["", "## Survivors", ""]
    if not report.survivors:
        lines.append("None.")
    for o in report.survivors:
        tests = report.probes.affected.get(o.mutant.function, [])
        passed = ("every test" if not report.probed and tests else
                  ", ".join(f"`{t}`" for t in tests) if tests else "no test (none runs this function)")
        lines += [f"### `{o.mutant.id}`", "",
                  f"{o.mutant.function}, line {o.mutant.line} of the cell `{o.mutant.grade_id}`: "
                  f"`{o.mutant.change}` ({o.mutant.operator}); passed {passed}",
                  "", "```diff", o.mutant.diff(), "```", ""]
    if report.wrongly_equivalent:
        lines += ["", "## Listed as equivalent, but a test fails on them", ""]
        lines += [f"- `{o.mutant.id}` (`{o.mutant.change}`) fails `{o.test}`: either the proof is wrong or "
                  f"the grader rejects correct code: {' '.join(o.message.split())[:300]}"
                  for o in report.wrongly_equivalent]
    if report.unnamed:
        lines += ["", "## Caught, but the message does not name the function at fault", ""]
        lines += [f"- `{o.mutant.id}` (`{o.mutant.change}`) caught by `{o.test}`, whose message names none of "
                  f"{', '.join(names_at_fault(o.mutant))}: {' '.join(o.message.split())[:300]}"
                  for o in report.unnamed]
    if report.stale_equivalents:
        lines += ["", f"## Entries of {EQUIVALENTS_FILE} that match no mutant (stale)", ""]
        lines += [f"- `{i}`" for i in report.stale_equivalents]
    if not report.probed:
        return "\n".join(lines + ["", "Run without probes (`--no-probes`): each mutant was graded on every "
                                      "test until its first failure."]) + "\n"
    lines += ["", "## Tests that run each function (from the probes)", ""]
    lines += [f"- {f}: {', '.join(f'`{t}`' for t in tests) or 'none'}" for f, tests in report.probes.affected.items()]
    return "\n".join(lines) + "\n"


def write_report(report: Report, out: Path) -> None:
    (out / "report.md").write_text(render_markdown(report))
    (out / "results.json").write_text(json.dumps({
        "hw": report.hw, "seconds": round(report.seconds, 1), "sample": report.sample, "seed": report.seed,
        "probed": report.probed,
        "rows": report.rows(), "probes": report.probes.as_dict(), "stale_equivalents": report.stale_equivalents,
        "mutants": [o.as_dict() for o in report.outcomes]}, indent=1))
