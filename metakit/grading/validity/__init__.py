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
# One concept a module, each importing only those listed before it: graders (grading a batch
# through the CLI or its engine), outcomes (the equivalence file, a mutant's outcome, the score),
# probes (which tests run each function), stages (grading until the first failure), summary (the
# Report of a run), markdown (the table, report.md, results.json), run (run_validity, rescore), cli.
from metakit.grading.validity.graders import CaseResult, CliGrader, EngineGrader, GradeFn, Results, parse_gradescope
from metakit.grading.validity.outcomes import (EQUIVALENTS_FILE, ID_PATTERN, ITEM, TIMEOUT_MARKERS, Outcome, is_timeout,
                                               names_at_fault, names_function, read_equivalents, sample_mutants, score)
from metakit.grading.validity.probes import Probes, hidden_test_sources, likeliest_first, probe_key, run_probes
from metakit.grading.validity.stages import grade_mutants
from metakit.grading.validity.summary import Report, summarize
from metakit.grading.validity.markdown import render_markdown, table, write_report
from metakit.grading.validity.run import rescore, run_validity
from metakit.grading.validity.cli import add_validity_command, cmd_validity, main

__all__ = [
    "CaseResult", "Results", "GradeFn", "parse_gradescope", "CliGrader", "EngineGrader",
    "TIMEOUT_MARKERS", "EQUIVALENTS_FILE", "ID_PATTERN", "ITEM", "read_equivalents",
    "Outcome", "is_timeout", "names_at_fault", "names_function", "score", "sample_mutants",
    "Probes", "run_probes", "probe_key", "likeliest_first", "hidden_test_sources",
    "grade_mutants",
    "Report", "summarize", "run_validity", "rescore",
    "table", "render_markdown", "write_report",
    "cmd_validity", "add_validity_command", "main",
]
