"""What can go wrong in a hidden test, each with a message written for the student.

``StudentProblem`` and its subclasses come from the student's side (their code raised, hung,
crashed, or a name is missing); ``GradingFailure`` is a check that failed; ``PartialCredit`` ends a
test with part of its points; ``GraderError`` is a failure on the grading side (the interpreter or
a library missing, the sandbox could not be set up, a data file missing, a bug in a hidden test):
the student is told it is not their fault, the instructor gets the cause, and ``grade`` exits
non-zero. The report shows ``student_message``, never the test's source.
"""

from __future__ import annotations

GRADER_ERROR_MESSAGE = ("this test could not be graded because of a problem on the grading side, not in "
                        "your code. Your instructor has been told and will regrade it.")


class GraderError(Exception):
    """Grading failed through no fault of the student; ``str(self)`` is the cause, for the instructor."""

    def __init__(self, cause: str, output_tail: str = "") -> None:
        super().__init__(cause)
        self.output_tail = output_tail


class StudentProblem(Exception):
    """Something about the student's code; ``str(self)`` is the message for the student."""

    def __init__(self, message: str, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail


class StudentError(StudentProblem):
    """The student's code raised an exception."""

    @classmethod
    def from_worker(cls, error: dict, doing: str) -> "StudentError":
        kind = str(error.get("type", "Exception"))[:100]
        text = str(error.get("message", ""))[:2000]
        lines = [f"your code raised {kind} while {doing}" + (f": {text}" if text else "")]
        for frame in error.get("frames", [])[-4:]:
            lines.append(f"  in {frame.get('where')}, line {frame.get('line')}: {frame.get('code')}")
        if kind == "MemoryError" or "allocate memory" in text:
            lines.append("  (your code asked for more memory than this test allows: look for a tensor far "
                         "larger than the data)")
        if kind == "NotImplementedError":
            lines.append("  (this part still raises NotImplementedError: replace that line with your code)")
        return cls("\n".join(lines))


class StudentTimeout(StudentProblem):
    """The student's code ran past the test's time limit."""


class StudentCrash(StudentProblem):
    """The worker process ended: exit, os._exit, out of memory, a signal, too much output."""


class WorkerProtocolError(StudentProblem):
    """The worker sent something that is not a valid reply (too large, malformed)."""


class MissingName(StudentProblem):
    """A name the test needs is not defined by the submission."""

    @classmethod
    def for_name(cls, name: str, cell_statuses: list[dict], load_report: dict) -> "MissingName":
        grade_id = load_report.get("defined_by", {}).get(name)
        lines = [f"`{name}` is not defined by your notebook."]
        if grade_id:
            problem = load_report.get("cell_problems", {}).get(grade_id)
            failed = next((c for c in cell_statuses if c.get("label") == grade_id and not c.get("ok")), None)
            if problem:
                lines.append(f"It should come from the cell `{grade_id}`: {problem}")
            elif failed:
                err = failed.get("error", {})
                where = "".join(f" (line {f.get('line')}: {f.get('code')})" for f in err.get("frames", [])[-1:])
                lines.append(f"It should come from the cell `{grade_id}`, which raised "
                             f"{err.get('type')} when it ran{where}: {err.get('message', '')}")
            else:
                lines.append(f"It should be defined in the cell `{grade_id}`.")
        lines.append("The grader keeps only imports, functions, classes and constants from your cells.")
        return cls("\n".join(lines))


class GradingFailure(AssertionError):
    """A check in a hidden test failed; the message says what was expected and what came back."""


class PartialCredit(Exception):
    """Ends a test with ``fraction`` of its points and a message."""

    def __init__(self, fraction: float, message: str) -> None:
        super().__init__(message)
        self.fraction = min(1.0, max(0.0, float(fraction)))
