"""``python -m metakit validity HW``: mutation testing of an assignment's hidden graders.

Every mutant of the reference solution (:mod:`metakit.grading.mutation`) becomes a submission
notebook and is graded by the engine of ``python -m metakit grade`` (:class:`EngineGrader`, or the
CLI itself per stage with ``--via cli``: :class:`CliGrader`), so what is measured is what a student
gets. A mutant is

* **killed** when a hidden test fails on it (and the test did not just run out of time),
* **timed out** when the test that caught it hit a time limit twice in a row (counted as killed in
  the score; the second try keeps a busy machine from passing for an infinite loop),
* **survived** when every hidden test that runs its function passes,
* **invalid** when the mutated cell does not compile (not counted),
* **equivalent** when ``autograder/<hw>/equivalent_mutants.md`` lists it with a proof (not
  counted; it is still graded, and one that gets killed is reported: either the proof or the
  grader is wrong).

Score = (killed + timed out) / (generated - invalid - equivalent), per graded function.

Cost (2 CPU cores, every hidden test starts a fresh worker). Two steps make it affordable and
change no outcome:

1. **Probes.** The reference and, for each graded function, the reference with that function
   raising at its first line, are graded on every test. A test that passes with the function
   replaced by a probe never runs it, so no mutation inside it can change that test's result.
   Tests that fail on the reference itself are reported and not used. Probe results are cached in
   the output folder, keyed by the notebook and the graders.
2. **First failure.** A mutant is graded on the tests that run its function, in collection order,
   until one fails: in one grading that stops there (the engine), or in stages of one test each,
   all mutants that share that test in one CLI call (``--via cli``). A mutant is killed iff one of
   its tests fails, whatever the order, so this gives the same verdicts as grading all of them at
   once; a killed mutant costs one or two tests instead of all.

Every killed mutant's failing message is checked to name the function at fault (the function,
method or class name, or the cell's grade_id): feedback that only says "wrong" does not tell a
student where to look.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from metakit.grading.mutation import (MODULE_LEVEL, Mutant, functions, generate_mutants, probe_source,
                                      solution_cells, with_cell, write_notebook)
from metakit.paths import REPO_ROOT

TIMEOUT_MARKERS = ("did not finish within", "did not run to the end", "took more than",
                   "of CPU time")
EQUIVALENTS_FILE = "equivalent_mutants.md"
ID_PATTERN = re.compile(r"^[\w.<>-]+:[\w.<>-]+:\+\d+:\w+:[0-9a-f]{8}$")
ITEM = re.compile(r"^\s*[-*]\s+`(?P<id>[^`]+)`\s*(?P<rest>.*)$")


# --------------------------------------------------------------------------- grading through the CLI
@dataclass
class CaseResult:
    passed: bool
    message: str
    title: str
    seconds: float = 0.0


Results = dict[str, dict[str, CaseResult]]          # student -> test name -> result
GradeFn = Callable[[dict[str, dict], "list[str] | None"], Results]


def parse_gradescope(entry: dict) -> dict[str, CaseResult]:
    """The per-test results of one Gradescope ``results.json``, keyed by test function name."""
    tests = {}
    for t in entry["tests"]:
        title, _, name = t["name"].rpartition(" (")
        tests[name.rstrip(")")] = CaseResult(t["status"] == "passed", t.get("output", ""), title,
                                             float(t.get("execution_time", 0.0)))
    return tests


class CliGrader:
    """Grades batches of notebooks with ``python -m metakit grade`` and reads the reports."""

    def __init__(self, hw: str, work: Path, jobs: int = 1, isolation: str = "auto",
                 root: Path = REPO_ROOT) -> None:
        self.hw, self.work, self.jobs, self.isolation, self.root = hw, work, jobs, isolation, root
        self.calls = 0

    def __call__(self, notebooks: dict[str, dict], tests: list[str] | None) -> Results:
        self.calls += 1
        batch = self.work / f"batch{self.calls:03d}"
        folder, out = batch / "submissions", batch / "out"
        for name, notebook in notebooks.items():
            write_notebook(notebook, folder / f"{name}.ipynb")
        command = [sys.executable, "-m", "metakit", "grade", self.hw, str(folder), "--out", str(out),
                   "--jobs", str(self.jobs), "--no-progress", "--isolation", self.isolation]
        if tests:
            command += ["--tests", ",".join(tests)]
        run = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if run.returncode != 0:  # once more: a busy or briefly broken machine is not a verdict
            time.sleep(10)
            shutil.rmtree(out, ignore_errors=True)
            run = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if run.returncode != 0:
            raise RuntimeError(f"metakit grade {self.hw} failed (exit {run.returncode}):\n"
                               f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        results = {name: parse_gradescope(json.loads((out / "gradescope" / f"{name}.json").read_text()))
                   for name in notebooks}
        shutil.rmtree(batch, ignore_errors=True)
        return results


class EngineGrader:
    """Grades batches of notebooks with the engine ``python -m metakit grade`` runs
    (:class:`~metakit.grading.runner.Grader`: the same intake, sandbox, limits and messages), one
    grader for the whole run, so its isolation probe and test collection are paid once, not once a
    call; it can grade each mutant until its first failing test in one go (pytest's ``-x``)."""

    def __init__(self, hw: str, work: Path, jobs: int = 1, isolation: str = "auto", root: Path = REPO_ROOT,
                 progress: bool = True) -> None:
        from metakit.grading.runner import Grader, Kit

        self.work, self.jobs, self.progress = work, jobs, progress
        self.grader = Grader(hw, Kit(root), isolation=isolation)
        self.calls = 0

    def __call__(self, notebooks: dict[str, dict], tests: list[str] | None) -> Results:
        return self._grade({name: (notebook, tests) for name, notebook in notebooks.items()}, first_failure=False)

    def first_failures(self, batch: dict[str, tuple[dict, list[str]]]) -> Results:
        """Each notebook on its own tests, in collection order, up to and including the first that
        fails; the tests after it are not graded and not in the results."""
        return self._grade(batch, first_failure=True)

    def _grade(self, batch: dict[str, tuple[dict, "list[str] | None"]], first_failure: bool) -> Results:
        from metakit.grading.report import gradescope_results
        from metakit.grading.runner import Submission

        self.calls += 1
        folder = self.work / f"batch{self.calls:03d}"
        for name, (notebook, _) in batch.items():
            write_notebook(notebook, folder / f"{name}.ipynb")
        graded = self.grader.grade_all([Submission(name, folder / f"{name}.ipynb") for name in batch],
                                       jobs=self.jobs, progress=self.progress and len(batch) > 1,
                                       only=[tests for _, tests in batch.values()], first_failure=first_failure)
        shutil.rmtree(folder, ignore_errors=True)
        return {g.student: parse_gradescope(gradescope_results(g)) for g in graded}

    def close(self) -> None:
        self.grader.close()


# --------------------------------------------------------------------------- equivalents
def read_equivalents(path: Path) -> dict[str, str]:
    """``{mutant id: proof}`` from a markdown list (``- `id` (change): proof``); {} if no file."""
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = ITEM.match(line)
        if not match:
            continue
        mutant_id, rest = match["id"].strip(), match["rest"].strip()
        if not ID_PATTERN.match(mutant_id):
            raise ValueError(f"{path}, line {number}: `{mutant_id}` is not a mutant id "
                             f"(cell:function:+line:operator:hash, as the validity report prints it)")
        if rest.startswith("("):
            rest = rest[_closing_paren(rest) + 1:].strip()
        proof = rest.lstrip(":-\u2014\u2013 ").strip()
        if not proof:
            raise ValueError(f"{path}, line {number}: `{mutant_id}` has no proof of equivalence")
        found[mutant_id] = proof
    return found


def _closing_paren(text: str) -> int:
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i
    return len(text) - 1


# --------------------------------------------------------------------------- outcomes
@dataclass
class Outcome:
    mutant: Mutant
    status: str = "survived"         # killed, timed out, survived, invalid, equivalent
    test: str | None = None          # the test that caught it
    message: str = ""
    named: bool | None = None        # does the caught message name the function at fault?
    tests_run: list[str] = field(default_factory=list)
    proof: str | None = None         # from the equivalence file

    def as_dict(self) -> dict:
        m = self.mutant
        return {"id": m.id, "index": m.index, "cell": m.grade_id, "function": m.function,
                "operator": m.operator, "line": m.line, "change": m.change, "status": self.status,
                "test": self.test, "message": self.message[:1000], "named": self.named,
                "tests_run": self.tests_run, "proof": self.proof}


def is_timeout(message: str) -> bool:
    return any(marker in message for marker in TIMEOUT_MARKERS)


def names_at_fault(mutant: Mutant) -> list[str]:
    """The words a message can use to point at the mutated code: function, method, class, cell."""
    parts = [] if mutant.function == MODULE_LEVEL else mutant.function.split(".")
    return list(dict.fromkeys([mutant.function, *parts, mutant.grade_id]))


def names_function(message: str, mutant: Mutant) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message) for name in names_at_fault(mutant))


def score(killed: int, timed_out: int, generated: int, invalid: int, equivalent: int) -> float | None:
    """(killed + timed out) / (generated - invalid - equivalent); None when nothing counts."""
    counted = generated - invalid - equivalent
    if counted < 0 or killed + timed_out > counted:
        raise ValueError(f"inconsistent counts: {killed} killed + {timed_out} timed out of "
                         f"{generated} - {invalid} - {equivalent}")
    return (killed + timed_out) / counted if counted else None


def sample_mutants(mutants: list[Mutant], k: int | None, seed: int = 0) -> list[Mutant]:
    """``k`` mutants picked with a seeded RNG, in generation order (all of them when k is None)."""
    if k is None or k >= len(mutants):
        return list(mutants)
    picked = sorted(random.Random(seed).sample(range(len(mutants)), k))
    return [mutants[i] for i in picked]


# --------------------------------------------------------------------------- probes
@dataclass
class Probes:
    tests: list[str]                      # every hidden test, in collection order
    broken: dict[str, str]                # tests that fail on the reference -> message
    affected: dict[str, list[str]]        # function -> the tests that run it (collection order)
    seconds: dict[str, float]             # reference execution time per test

    def as_dict(self) -> dict:
        return {"tests": self.tests, "broken": self.broken, "affected": self.affected, "seconds": self.seconds}


def run_probes(reference: dict, wanted: list[tuple[str, str]], grade: GradeFn,
               baseline: Probes | None = None) -> Probes:
    """Grade one probe per ``(grade_id, function)`` on every hidden test, and the reference too
    unless ``baseline`` (an earlier run on the same notebook and graders) already has it."""
    cells = solution_cells(reference)
    notebooks = {} if baseline is not None else {"reference": reference}
    probed: dict[str, str] = {}
    for number, (grade_id, function) in enumerate(wanted):
        source = probe_source(cells[grade_id], function) if function != MODULE_LEVEL else None
        if source is not None:
            probed[function] = f"probe{number:03d}"
            notebooks[probed[function]] = with_cell(reference, grade_id, source)
    results = grade(notebooks, None) if notebooks else {}
    if baseline is None:
        ref = results["reference"]
        failing = [t for t, r in ref.items() if not r.passed]
        if failing:  # once more before a test is given up as broken (a busy machine times out)
            ref = {**ref, **grade({"reference": reference}, failing)["reference"]}
        baseline = Probes(list(ref), {t: r.message for t, r in ref.items() if not r.passed}, {},
                          {t: r.seconds for t, r in ref.items()})
    usable = [t for t in baseline.tests if t not in baseline.broken]
    affected = dict(baseline.affected)
    for _, function in wanted:
        if function in probed:
            affected[function] = [t for t in usable if not results[probed[function]][t].passed]
        else:
            affected[function] = usable
    return Probes(baseline.tests, baseline.broken, affected, baseline.seconds)


def probe_key(hw: str, root: Path) -> str:
    """Changes whenever the notebook, its release or the graders change."""
    digest = hashlib.sha256(hw.encode())
    files = [root / "solutions" / hw / f"{hw}.ipynb", root / "assignments" / hw / f"{hw}.ipynb",
             *sorted((root / "autograder" / hw).rglob("*.py"))]
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


# --------------------------------------------------------------------------- staged grading
def grade_mutants(reference: dict, outcomes: list[Outcome], affected: dict[str, list[str]], grade: GradeFn,
                  log: Callable[[str], None] = lambda s: None) -> None:
    """Grade each live mutant on its function's tests, in collection order, until one fails: in one
    grading per mutant when ``grade`` can stop at a first failure (:class:`EngineGrader`), else in
    stages of one test (:class:`CliGrader`). Either way a mutant is killed iff one of its tests fails."""
    if hasattr(grade, "first_failures"):
        _grade_until_first_failure(reference, outcomes, affected, grade, log)
    else:
        _grade_in_stages(reference, outcomes, affected, grade, log)


def _notebook_name(outcome: Outcome) -> str:
    return f"m{outcome.mutant.index:04d}"


def _mutated(reference: dict, outcome: Outcome) -> dict:
    return with_cell(reference, outcome.mutant.grade_id, outcome.mutant.source)


def _record(outcome: Outcome, test: str, result: CaseResult) -> None:
    outcome.tests_run.append(test)
    if not result.passed:
        outcome.test, outcome.message = test, result.message
        outcome.status = "timed out" if is_timeout(result.message) else "killed"
        outcome.named = names_function(f"{result.message}", outcome.mutant)


def _regrade_timeouts(results: Results, notebooks: dict[str, dict], test_of: dict[str, str], grade: GradeFn) -> None:
    """A time limit on a busy machine is not a verdict yet: grade those once more on that test."""
    by_test: dict[str, list[str]] = {}
    for name, test in test_of.items():
        if test in results[name] and not results[name][test].passed and is_timeout(results[name][test].message):
            by_test.setdefault(test, []).append(name)
    for test, names in by_test.items():
        again = grade({n: notebooks[n] for n in sorted(names)}, [test])
        for name in names:
            results[name][test] = again[name][test]


def _grade_in_stages(reference: dict, outcomes: list[Outcome], affected: dict[str, list[str]], grade: GradeFn,
                     log: Callable[[str], None]) -> None:
    """Stage ``i`` grades every live mutant on the ``i``-th test of its function, all mutants that
    share that test in one call."""
    live = [o for o in outcomes if o.status in ("survived", "equivalent")]
    stage = 0
    while live:
        by_test: dict[str, list[Outcome]] = {}
        for outcome in live:
            tests = affected.get(outcome.mutant.function, [])
            if stage < len(tests):
                by_test.setdefault(tests[stage], []).append(outcome)
        if not by_test:
            break
        for test, group in by_test.items():
            started = time.monotonic()
            notebooks = {_notebook_name(o): _mutated(reference, o) for o in group}
            results = grade(notebooks, [test])
            _regrade_timeouts(results, notebooks, {n: test for n in notebooks}, grade)
            for outcome in group:
                _record(outcome, test, results[_notebook_name(outcome)][test])
            caught = sum(o.status in ("killed", "timed out") for o in group)
            log(f"  stage {stage + 1}: {test} on {len(group)} mutants: {caught} caught "
                f"({time.monotonic() - started:.0f} s)")
        live = [o for o in live if o.status in ("survived", "equivalent")]
        stage += 1


def _grade_until_first_failure(reference: dict, outcomes: list[Outcome], affected: dict[str, list[str]],
                               grader: "EngineGrader", log: Callable[[str], None]) -> None:
    """One grading per mutant on all its function's tests, stopped at the first failing one."""
    live = [o for o in outcomes if o.status in ("survived", "equivalent") and affected.get(o.mutant.function)]
    started = time.monotonic()
    notebooks = {_notebook_name(o): _mutated(reference, o) for o in live}
    results = grader.first_failures({_notebook_name(o): (notebooks[_notebook_name(o)], affected[o.mutant.function])
                                     for o in live})
    failed_on = {name: next((t for t, r in tests.items() if not r.passed), "") for name, tests in results.items()}
    _regrade_timeouts(results, notebooks, {n: t for n, t in failed_on.items() if t}, grader)
    for outcome in live:
        for test, result in results[_notebook_name(outcome)].items():
            _record(outcome, test, result)
            if not result.passed:
                break
    caught = sum(o.status in ("killed", "timed out") for o in live)
    log(f"  {len(live)} mutants graded until their first failing test: {caught} caught "
        f"({time.monotonic() - started:.0f} s)")


# --------------------------------------------------------------------------- the whole run
@dataclass
class Report:
    hw: str
    outcomes: list[Outcome]
    probes: Probes
    functions: list[str]
    stale_equivalents: list[str]
    seconds: float
    sample: int | None
    seed: int
    probed: bool = True  # False: ``probes.affected`` is every usable test, not the tests that run a function

    def rows(self) -> list[dict]:
        rows = []
        for function in self.functions:
            mine = [o for o in self.outcomes if o.mutant.function == function]
            if mine:
                rows.append(summarize(function, mine))
        rows.append(summarize("total", self.outcomes))
        return rows

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "survived"]

    @property
    def unnamed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("killed", "timed out") and o.named is False]

    @property
    def wrongly_equivalent(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.proof is not None and o.status in ("killed", "timed out")]


def summarize(function: str, outcomes: list[Outcome]) -> dict:
    count = {s: sum(o.status == s for o in outcomes) for s in
             ("killed", "timed out", "survived", "invalid", "equivalent")}
    return {"function": function, "generated": len(outcomes), **count,
            "score": score(count["killed"], count["timed out"], len(outcomes), count["invalid"],
                           count["equivalent"])}


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


def _cached_probes(hw: str, out: Path, reference: dict, wanted: list[tuple[str, str]], grade: GradeFn,
                   root: Path, use_cache: bool, log: Callable[[str], None]) -> Probes:
    """Probes of the ``wanted`` functions, reusing those of an earlier run on the same notebook and
    graders (``out/probes.json``)."""
    cache = out / "probes.json"
    key = probe_key(hw, root)
    baseline = None
    if use_cache and cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            baseline = Probes(saved["tests"], saved["broken"], saved["affected"], saved["seconds"])
    missing = [(g, f) for g, f in wanted if baseline is None or f not in baseline.affected]
    if baseline is not None and not missing:
        log("  probes: cached (notebook and graders unchanged)")
        return baseline
    started = time.monotonic()
    probes = run_probes(reference, missing, grade, baseline)
    log(f"  probes: {'reference + ' if baseline is None else ''}{len(missing)} functions on "
        f"{len(probes.tests)} tests ({time.monotonic() - started:.0f} s)")
    cache.write_text(json.dumps({"key": key, **probes.as_dict()}, indent=1))
    return probes


def _unprobed(reference: dict, wanted: list[tuple[str, str]], grade: GradeFn, log: Callable[[str], None],
              sources: dict[str, str] | None = None) -> Probes:
    """Only the reference is graded (to leave out the tests it fails); every wanted function is then
    taken to run every usable test, so each mutant is graded on all of them until its first failure,
    in :func:`likeliest_first` order (the verdict is the same in any order; the cost is not)."""
    started = time.monotonic()
    reference_only = run_probes(reference, [], grade)
    usable = [t for t in reference_only.tests if t not in reference_only.broken]
    log(f"  no probes: reference on {len(reference_only.tests)} tests ({time.monotonic() - started:.0f} s); "
        f"each mutant is graded on every test until its first failure, its function's tests first")
    affected = {f: likeliest_first(usable, f, sources or {}, reference_only.seconds) for _, f in wanted}
    return Probes(reference_only.tests, reference_only.broken, affected, reference_only.seconds)


def likeliest_first(tests: list[str], function: str, sources: dict[str, str], seconds: dict[str, float]) -> list[str]:
    """``tests`` with those whose source names ``function`` (its class, for a method: ``MANN`` for
    ``MANN.forward``) first, then the rest; the quickest first within each group (the reference's
    ``seconds``), collection order among equals."""
    name = re.compile(rf"\b{re.escape(function.split('.')[0])}\b")
    position = {t: i for i, t in enumerate(tests)}
    return sorted(tests, key=lambda t: (not name.search(sources.get(t.split("[")[0], "")), seconds.get(t, 0.0), position[t]))


def hidden_test_sources(hw: str, root: Path) -> dict[str, str]:
    """The source of each hidden test of ``hw`` (``test_*`` functions of ``autograder/<hw>/test_*.py``)."""
    sources: dict[str, str] = {}
    for path in sorted((root / "autograder" / hw).glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                sources[node.name] = ast.get_source_segment(text, node) or ""
    return sources


# --------------------------------------------------------------------------- reporting
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


# --------------------------------------------------------------------------- command line
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


from metakit.grading.validity_cli import add_validity_command  # noqa: E402 - the parser lives there


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m metakit.grading.validity")
    add_validity_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validity", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
