"""Typed grading records: what a hidden test is, what it gave one submission, and a submission's result.

- :class:`TestSpec`: a hidden test as collected (name, file, title, points and limits of its
  ``@graded`` mark). The plugin makes them at collection; the runner selects and orders them.
- :class:`TestRecord`: one test's outcome for one submission (the spec, the points earned, the
  message for the student, the details for the instructor). Made in two ways only:
  :meth:`TestRecord.ran` (the plugin, after the test ran) and :meth:`TestRecord.zero` (the runner,
  for a test that could not run: no notebook, a broken intake, a stopped run).
- :class:`SubmissionResult`: a submission's records, notes and log, read by the reports, the Gradescope
  results, the gradebook and mutation testing.

Records cross one process boundary as JSON (the grading process's ``results.json``) and are kept
in ``graded.json``: :meth:`TestRecord.to_dict` and :meth:`TestRecord.from_dict` are the only
places that know the keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from metakit.grading.late import Lateness


@dataclass(frozen=True)
class TestSpec:
    """A hidden test and the limits of its ``@graded`` mark."""

    __test__ = False  # not a pytest test class

    name: str
    file: str
    title: str
    max_points: float
    timeout: float = 30.0
    memory_mb: int = 3072
    threads: int = 1
    visibility: str = "visible"
    graded: bool = True  # False: the test has no @graded mark (the runner refuses to grade)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TestSpec":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class TestRecord(TestSpec):
    """One hidden test's outcome for one submission."""

    points: float = 0.0
    passed: bool = False
    grader_error: bool = False  # failed on the grading side: a regrade is owed, not the student's fault
    message: str = ""  # for the student
    instructor_details: str = ""  # for the instructor only: traceback, worker output
    execution_time: float = 0.0  # seconds

    @property
    def spec(self) -> TestSpec:
        return TestSpec(**{f.name: getattr(self, f.name) for f in fields(TestSpec)})

    @classmethod
    def ran(cls, spec: TestSpec, points: float, message: str, details: str, grader_error: bool,
            seconds: float, full: bool) -> "TestRecord":
        """The record of a test that ran; ``full``: it raised nothing (then full points pass it)."""
        return cls(**spec.to_dict(), points=points, passed=full and points >= spec.max_points,
                   grader_error=grader_error, message=message, instructor_details=details,
                   execution_time=round(seconds, 3))

    @classmethod
    def zero(cls, spec: TestSpec, message: str, grader_error: bool = False, details: str = "") -> "TestRecord":
        """The record of a test that could not run: zero points, ``message`` for the student."""
        return cls(**spec.to_dict(), message=message, grader_error=grader_error, instructor_details=details)


@dataclass
class SubmissionResult:
    """The result of one submission."""

    student: str
    tests: list[TestRecord]
    notes: list[str] = field(default_factory=list)
    fatal: str | None = None
    instructor_log: str = ""
    seconds: float = 0.0
    late: Lateness | None = None  # what the late policy made of it (None: no policy)

    @property
    def score(self) -> float:
        return round(sum(t.points for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_points for t in self.tests), 4)

    @property
    def grader_errors(self) -> list[TestRecord]:
        """The tests that failed on the grading side (they need a regrade, not the student)."""
        return [t for t in self.tests if t.grader_error]

    def points(self) -> dict[str, float]:
        """Points earned per test name."""
        return {t.name: t.points for t in self.tests}


Graded = SubmissionResult  # its earlier name, for instructors' scripts that import it
