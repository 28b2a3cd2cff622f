"""The whole run: mutants, probes, grading and report (:func:`run_validity`), or the last run's
report scored again (:func:`rescore`)."""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from metakit.grading.mutation import functions, generate_mutants
from metakit.grading.validity.graders import CliGrader, EngineGrader, GradeFn
from metakit.grading.validity.markdown import write_report
from metakit.grading.validity.outcomes import EQUIVALENTS_FILE, Outcome, read_equivalents, sample_mutants
from metakit.grading.validity.probes import Probes, _cached_probes, _unprobed, hidden_test_sources
from metakit.grading.validity.stages import grade_mutants
from metakit.grading.validity.summary import Report
from metakit.paths import REPO_ROOT


def run_validity(hw: str, out: Path, grade: GradeFn | None = None, jobs: int = 1, sample: int | None = None,
                 seed: int = 0, only_functions: list[str] | None = None, isolation: str = "auto",
                 root: Path = REPO_ROOT, use_cache: bool = True, via: str = "engine", probe: bool = True,
                 log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> Report:
    """Mutation-test ``hw``'s graders and write the report to ``out``. ``grade`` (tests) replaces the
    grading; else ``via`` says how: ``"engine"`` (the CLI's grading engine in this process, one
    grading per mutant that stops at its first failing test) or ``"cli"`` (``python -m metakit
    grade`` per stage). Both give the same verdicts. ``probe=False`` skips the function probes: each
    mutant is graded on every test until its first failure (the same verdict; cheaper for a small
    sample, whose probes would cost a full grading per function)."""
    started = time.monotonic()
    made = None
    reference_path = root / "solutions" / hw / f"{hw}.ipynb"
    if not reference_path.exists():
        raise FileNotFoundError(f"no reference notebook {reference_path}")
    reference = json.loads(reference_path.read_text())
    all_mutants = generate_mutants(reference)
    known = {m.id for m in all_mutants}
    if only_functions:
        unknown = sorted(set(only_functions) - {m.function for m in all_mutants})
        if unknown:
            raise ValueError(f"{hw} has no mutants in {', '.join(unknown)}")
        all_mutants = [m for m in all_mutants if m.function in only_functions]
    equivalents = read_equivalents(root / "autograder" / hw / EQUIVALENTS_FILE)
    stale = sorted(set(equivalents) - known)
    valid = [m for m in all_mutants if m.valid]
    chosen = sample_mutants(valid, sample, seed) + ([] if sample else [m for m in all_mutants if not m.valid])
    chosen.sort(key=lambda m: m.index)
    outcomes = [Outcome(m, status="survived" if m.valid else "invalid") for m in chosen]
    for outcome in outcomes:
        if outcome.mutant.id in equivalents and outcome.status != "invalid":
            outcome.status, outcome.proof = "equivalent", equivalents[outcome.mutant.id]
    order = [f for _, f in functions(reference)]
    wanted_functions = list(dict.fromkeys(o.mutant.function for o in outcomes if o.status != "invalid"))
    cells_of = {m.function: m.grade_id for m in chosen}
    ordered = [f for f in order if f in wanted_functions] + [f for f in wanted_functions if f not in order]
    wanted = [(cells_of[f], f) for f in ordered]
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"metakit-validity-{hw}-"))
    try:
        if grade is None:
            made = grade = (CliGrader if via == "cli" else EngineGrader)(hw, work, jobs=jobs, isolation=isolation,
                                                                          root=root)
        log(f"{hw}: {len(all_mutants)} mutants, grading {len(outcomes)}"
            + (f" (sample of {sample}, seed {seed})" if sample else ""))
        if probe:
            probes = _cached_probes(hw, out, reference, wanted, grade, root, use_cache, log)
        else:
            probes = _unprobed(reference, wanted, grade, log, hidden_test_sources(hw, root))
        for test, message in probes.broken.items():
            log(f"  WARNING: the reference fails {test}; it is not used: {message[:200]}")
        grade_mutants(reference, outcomes, probes.affected, grade, log)
    finally:
        if made is not None and hasattr(made, "close"):
            made.close()
        shutil.rmtree(work, ignore_errors=True)
    for outcome in outcomes:  # a listed equivalent that nothing caught stays equivalent
        if outcome.status == "survived" and outcome.proof is not None:
            outcome.status = "equivalent"
    report = Report(hw, outcomes, probes, [*order, *(f for f in ordered if f not in order)], stale,
                    time.monotonic() - started, sample, seed, probed=probe)
    write_report(report, out)
    return report


def rescore(hw: str, out: Path, root: Path = REPO_ROOT) -> Report:
    """The report of the last run in ``out`` again, with the equivalence file as it is now (no
    grading: for after editing ``equivalent_mutants.md``)."""
    saved = json.loads((out / "results.json").read_text())
    reference = json.loads((root / "solutions" / hw / f"{hw}.ipynb").read_text())
    mutants = {m.id: m for m in generate_mutants(reference)}
    missing = [r["id"] for r in saved["mutants"] if r["id"] not in mutants]
    if missing:
        raise ValueError(f"the reference changed since the run in {out}: no mutant {missing[0]} any more; "
                         f"run the validity command again")
    equivalents = read_equivalents(root / "autograder" / hw / EQUIVALENTS_FILE)
    outcomes = []
    for r in saved["mutants"]:
        status = "survived" if r["status"] == "equivalent" else r["status"]
        outcome = Outcome(mutants[r["id"]], status, r["test"], r["message"], r["named"], r["tests_run"],
                          equivalents.get(r["id"]))
        if outcome.status == "survived" and outcome.proof is not None:
            outcome.status = "equivalent"
        outcomes.append(outcome)
    probes = Probes(**saved["probes"])
    order = [f for _, f in functions(reference)]
    extra = [f for f in dict.fromkeys(o.mutant.function for o in outcomes) if f not in order]
    report = Report(hw, outcomes, probes, [*order, *extra], sorted(set(equivalents) - set(mutants)),
                    saved["seconds"], saved["sample"], saved["seed"], probed=saved.get("probed", True))
    write_report(report, out)
    return report
