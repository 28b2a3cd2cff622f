"""The typed grading records (metakit.grading.records): every promise of their docstrings."""
from __future__ import annotations

import json

from metakit.grading.records import SubmissionResult, TestRecord, TestSpec

SPEC = TestSpec(name="test_softmax", file="test_core.py", title="softmax sums to one", max_points=2.0,
                timeout=10.0, memory_mb=512, threads=2, visibility="hidden")


def test_a_test_that_ran_keeps_its_spec_and_passes_only_on_full_points_without_an_exception() -> None:
    full = TestRecord.ran(SPEC, 2.0, "", "", False, seconds=0.12345, full=True)
    assert full.passed and full.points == 2.0 and full.execution_time == 0.123
    assert full.spec == SPEC and full.name == "test_softmax" and full.visibility == "hidden"
    partial = TestRecord.ran(SPEC, 1.0, "half", "", False, seconds=0.1, full=True)
    assert not partial.passed and partial.points == 1.0 and partial.message == "half"
    raised = TestRecord.ran(SPEC, 2.0, "", "trace", False, seconds=0.1, full=False)
    assert not raised.passed, "full points with an exception (a skip, say) is not a pass"


def test_a_test_that_could_not_run_gets_zero_with_its_message() -> None:
    record = TestRecord.zero(SPEC, "no notebook submitted")
    assert (record.points, record.passed, record.grader_error, record.message) == (0.0, False, False, "no notebook submitted")
    stopped = TestRecord.zero(SPEC, "not your fault", grader_error=True, details="the run was stopped")
    assert stopped.grader_error and stopped.instructor_details == "the run was stopped"
    assert stopped.spec == SPEC


def test_records_survive_json_both_ways_and_ignore_keys_they_do_not_know() -> None:
    record = TestRecord.ran(SPEC, 1.5, "close", "details", True, seconds=2.0, full=True)
    text = json.dumps(record.to_dict())
    assert TestRecord.from_dict(json.loads(text)) == record
    assert TestSpec.from_dict({**SPEC.to_dict(), "points": 3.0, "extra": 1}) == SPEC
    assert list(record.to_dict())[:9] == list(SPEC.to_dict()), "spec keys first, in their order"


def test_graded_sums_points_and_lists_grader_errors() -> None:
    tests = [TestRecord.ran(SPEC, 2.0, "", "", False, 0.1, True),
             TestRecord.ran(TestSpec("test_b", "test_core.py", "b", 3.0), 1.0, "off", "", False, 0.1, True),
             TestRecord.zero(TestSpec("test_c", "test_core.py", "c", 1.0), "sorry", grader_error=True)]
    graded = SubmissionResult("alice", tests)
    assert graded.score == 3.0 and graded.max_score == 6.0
    assert [t.name for t in graded.grader_errors] == ["test_c"]
    assert graded.points() == {"test_softmax": 2.0, "test_b": 1.0, "test_c": 0.0}
