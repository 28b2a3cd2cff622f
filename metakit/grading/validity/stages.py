"""Grading the mutants on the tests that run their function, until each one's first failure."""
from __future__ import annotations

import time
from collections.abc import Callable

from metakit.grading.mutation import with_cell
from metakit.grading.validity.graders import CaseResult, EngineGrader, GradeFn, Results
from metakit.grading.validity.outcomes import Outcome, is_timeout, names_function


def grade_mutants(reference: dict, outcomes: list[Outcome], affected: dict[str, list[str]], grade: GradeFn,
                  log: Callable[[str], None] = lambda s: None) -> None:
    """Grade each live mutant on its function's tests, in collection order, until one fails: in one
    grading per mutant when ``grade`` can stop at a first failure (:class:`EngineGrader`), else in
    stages of one test (:class:`CliGrader`). Either way a mutant is killed iff one of its tests fails.
    A kill is named when a failing test's message names the mutated function (see
    :func:`_look_for_a_message_that_names_the_function`), whatever order the tests ran in."""
    if hasattr(grade, "first_failures"):
        _grade_until_first_failure(reference, outcomes, affected, grade, log)
    else:
        _grade_in_stages(reference, outcomes, affected, grade, log)
    _look_for_a_message_that_names_the_function(reference, outcomes, affected, grade, log)


def _look_for_a_message_that_names_the_function(reference: dict, outcomes: list[Outcome],
                                                 affected: dict[str, list[str]], grade: GradeFn,
                                                 log: Callable[[str], None]) -> None:
    """A student reads the message of every test their code fails, not only the first one's. So a
    kill whose first failing message names no function is graded on its function's other tests too,
    and counts as named when one of them fails with a message that names it. Which test fails first
    depends on the order, and the order on the reference's times on this machine; this way whether a
    kill is named does not."""
    untried = {o.mutant.index: [t for t in affected.get(o.mutant.function, []) if t not in o.tests_run]
               for o in outcomes if o.status == "killed" and not o.named}
    unnamed = [o for o in outcomes if untried.get(o.mutant.index)]
    for outcome in unnamed:
        name = _notebook_name(outcome)
        results = grade({name: _mutated(reference, outcome)}, untried[outcome.mutant.index])[name]
        outcome.named = any(not r.passed and names_function(r.message, outcome.mutant) for r in results.values())
    if unnamed:
        log(f"  {len(unnamed)} kills whose first message named no function, graded on their other tests: "
            f"{sum(o.named for o in unnamed)} named by another failing test")


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
