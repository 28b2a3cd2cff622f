"""The late policy: when each submission came in, how late it was, and what that costs.

The policy is the ``[late]`` table of ``autograder/<hw>/assignment.toml``:

.. code-block:: toml

    [late]
    deadline = 2026-03-06T23:59:00-08:00   # ISO 8601 with a time zone (TOML datetime or string)
    grace_minutes = 15       # a submission up to 15 minutes after the deadline is on time
    penalty_per_day = 0.10   # a FRACTION of the score taken per late day (0.10 = 10 %), never a percent
    max_late_days = 4        # more late days than this: the score is 0 (the cap does not apply then)
    cap = 0.30               # the most a late submission loses (a fraction), up to max_late_days

Late days are whole days *started* after the deadline (ceil): 1 minute past the grace period is
1 late day, 1.5 days late is 2. The final score is ``total * (1 - penalty)``, where ``penalty =
min(cap, penalty_per_day * late_days)``, or 1 (score 0) past ``max_late_days``.

Submission times, in this order: nbgrader's ``submitted/<student>/<hw>/timestamp.txt`` (what
``nbgrader submit`` writes with its ``timestamp_format``, ``"%Y-%m-%d %H:%M:%S.%f %Z"``, parsed with
nbgrader's own :func:`nbgrader.utils.parse_utc`: a time without a zone is UTC); else a row of the
``--times`` CSV (``student,timestamp``, ISO 8601 with a time zone); else the notebook's modification
time (the report says so). A timestamp.txt that is missing in nbgrader's layout, or garbled, is
named in the student's notes and the ``late_note`` column: the submission is graded anyway, with
the next source's time, and flagged, never silently on time.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from metakit.grading.runner import Submission

TIMESTAMP_FILE = "timestamp.txt"
LATE_KEYS = {"deadline", "grace_minutes", "penalty_per_day", "max_late_days", "cap"}
LATE_COLUMNS = ["submitted_at", "late_days", "late_penalty", "final", "late_note"]
DAY = timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    """Deadline (aware, any zone), grace, penalty per late day and its limits (fractions of the score)."""

    deadline: datetime
    grace_minutes: float = 0.0
    penalty_per_day: float = 0.0
    max_late_days: int | None = None
    cap: float | None = None

    def late_days(self, submitted: datetime) -> int:
        """Whole days started after the deadline, 0 within the grace period."""
        if submitted <= self.deadline + timedelta(minutes=self.grace_minutes):
            return 0
        return math.ceil((submitted - self.deadline) / DAY)

    def penalty(self, late_days: int) -> float:
        """The fraction of the score taken away after ``late_days`` late days."""
        if self.max_late_days is not None and late_days > self.max_late_days:
            return 1.0
        taken = self.penalty_per_day * late_days
        return round(min(taken, self.cap if self.cap is not None else 1.0, 1.0), 6)


@dataclass(frozen=True)
class SubmissionTime:
    """When one submission came in (None: no source), where that came from, and any problem."""

    at: datetime | None
    source: str
    problem: str | None = None


@dataclass(frozen=True)
class Lateness:
    """What the late policy made of one submission."""

    submitted_at: datetime | None
    source: str
    late_days: int
    penalty: float
    problem: str | None = None

    def final(self, total: float) -> float:
        return round(total * (1.0 - self.penalty), 4)


# --------------------------------------------------------------------------- the policy
def parse_policy(raw: Any, where: str) -> LatePolicy:
    """The ``[late]`` table as a policy; a ValueError naming ``where`` (the file) when it is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: [late] must be a table")
    unknown = sorted(set(raw) - LATE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown [late] settings {unknown} (known: {', '.join(sorted(LATE_KEYS))})")
    if "deadline" not in raw:
        raise ValueError(f"{where}: [late] needs a deadline (ISO 8601 with a time zone)")
    deadline = parse_time(raw["deadline"], f"{where}: [late] deadline")
    grace = _number(raw.get("grace_minutes", 0), f"{where}: [late] grace_minutes", 0, None)
    per_day = _number(raw.get("penalty_per_day", 0), f"{where}: [late] penalty_per_day", 0, 1,
                      hint=" (a fraction of the score: 0.1 is 10 % a day)")
    cap = raw.get("cap")
    cap = None if cap is None else _number(cap, f"{where}: [late] cap", 0, 1, hint=" (a fraction: 0.5 is half)")
    max_days = raw.get("max_late_days")
    if max_days is not None and (not isinstance(max_days, int) or isinstance(max_days, bool) or max_days < 0):
        raise ValueError(f"{where}: [late] max_late_days must be a whole number >= 0; got {max_days!r}")
    return LatePolicy(deadline, float(grace), float(per_day), max_days, cap)


def _number(value: Any, what: str, low: float, high: float | None, hint: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
        raise ValueError(f"{what} must be a number {bound}{hint}; got {value!r}")
    return float(value)


def parse_time(value: Any, what: str) -> datetime:
    """An aware datetime from an ISO 8601 string or a TOML datetime; a ValueError naming ``what``
    when it is not one or has no time zone."""
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"{what}: {value} is a date; give a time and a zone, e.g. {value}T23:59:00+00:00")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what}: {value!r} is not an ISO 8601 time (e.g. 2026-03-06T23:59:00-08:00)") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{what}: {value!r} is not a time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what}: {value.isoformat()} has no time zone (write e.g. {value.isoformat()}+00:00)")
    return value


# --------------------------------------------------------------------------- submission times
def read_times_csv(path: Path) -> dict[str, datetime]:
    """``student,timestamp`` rows as {student: aware time}; a ValueError naming the file and row."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the times CSV ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or not {"student", "timestamp"} <= {f.strip() for f in reader.fieldnames}:
        raise ValueError(f"{path}: the times CSV needs the header student,timestamp; got {reader.fieldnames}")
    times: dict[str, datetime] = {}
    for row_number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        student = row.get("student", "")
        if not student:
            raise ValueError(f"{path}, row {row_number}: no student")
        if student in times:
            raise ValueError(f"{path}, row {row_number}: student {student!r} appears twice")
        times[student] = parse_time(row.get("timestamp", ""), f"{path}, row {row_number}")
    return times


def check_times_students(times: dict[str, datetime], students: list[str], path: Path) -> None:
    """Refuse a times CSV that names a student with no submission (a typo would go unnoticed)."""
    unknown = [s for s in times if s not in set(students)]
    if unknown:
        rows = {s: i for i, s in enumerate(times, start=2)}
        listed = ", ".join(f"{s!r} (row {rows[s]})" for s in unknown)
        raise ValueError(f"{path}: no submission for {listed}; submissions are from {', '.join(students) or 'nobody'}")


def read_nbgrader_timestamp(path: Path) -> datetime:
    """The time in nbgrader's ``timestamp.txt``, parsed as nbgrader parses it (no zone: UTC)."""
    from nbgrader.utils import parse_utc

    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        raise ValueError(f"{path} is empty")
    try:
        return parse_utc(text).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"{path}: {text[:80]!r} is not a time ({exc})") from None


def submission_time(notebook: Path | None, timestamp_file: Path | None, csv_time: datetime | None,
                    expect_timestamp: bool) -> SubmissionTime:
    """When one submission came in: timestamp.txt, else the CSV, else the notebook's mtime.
    ``expect_timestamp``: nbgrader's layout, where a missing timestamp.txt is a problem."""
    problem = None
    if timestamp_file is not None and timestamp_file.exists():
        try:
            return SubmissionTime(read_nbgrader_timestamp(timestamp_file), f"nbgrader {TIMESTAMP_FILE}")
        except (OSError, ValueError) as exc:
            problem = f"garbled submission time: {exc}"
    elif expect_timestamp and timestamp_file is not None:
        problem = f"no submission time: {timestamp_file} is missing"
    if csv_time is not None:
        return SubmissionTime(csv_time, "times CSV", problem)
    if notebook is not None and notebook.exists():
        mtime = datetime.fromtimestamp(notebook.stat().st_mtime, tz=timezone.utc)
        return SubmissionTime(mtime, "file modification time", problem)
    return SubmissionTime(None, "none", problem or "no submission time")


def assess(policy: LatePolicy | None, when: SubmissionTime) -> Lateness | None:
    """The late days and penalty of one submission (None without a policy). A submission with no
    time at all is flagged and not penalised: the instructor decides."""
    if policy is None:
        return None
    if when.at is None:
        return Lateness(None, when.source, 0, 0.0, when.problem or "no submission time")
    days = policy.late_days(when.at)
    return Lateness(when.at, when.source, days, policy.penalty(days), when.problem)


def assess_submissions(policy: LatePolicy | None, submissions: list["Submission"],
                       times_path: Path | None = None) -> dict[str, Lateness]:
    """{student: lateness} of every submission that has a notebook (nothing without a policy).
    A ``--times`` CSV is read and checked first, so a bad one stops grading before anything is
    written."""
    times = read_times_csv(times_path) if times_path is not None else {}
    if times_path is not None:
        check_times_students(times, [s.student for s in submissions], times_path)
    if policy is None:
        return {}
    return {s.student: assess(policy, submission_time(s.notebook, s.timestamp_file, times.get(s.student),
                                                      s.nbgrader_layout))
            for s in submissions if s.notebook is not None}


# --------------------------------------------------------------------------- reports
def csv_cells(late: Lateness | None, total: float) -> list[str]:
    """The :data:`LATE_COLUMNS` of one grades.csv row (empty without a policy)."""
    if late is None:
        return [""] * len(LATE_COLUMNS)
    at = late.submitted_at.isoformat() if late.submitted_at else ""
    note = "; ".join(filter(None, [late.problem, f"time from {late.source}" if late.source != f"nbgrader {TIMESTAMP_FILE}" else ""]))
    return [at, str(late.late_days), f"{late.penalty:g}", f"{late.final(total):g}", note]


def feedback_lines(late: Lateness | None, policy: LatePolicy | None, total: float, max_score: float) -> list[str]:
    """The "Submission time" section of a student's feedback (nothing without a policy)."""
    if late is None or policy is None:
        return []
    lines = ["## Submission time", ""]
    when = late.submitted_at.isoformat(timespec="minutes") if late.submitted_at else "unknown"
    lines.append(f"- submitted: {when} (from the {late.source}); deadline: {policy.deadline.isoformat(timespec='minutes')}"
                 + (f", {policy.grace_minutes:g} minutes' grace" if policy.grace_minutes else ""))
    if late.problem:
        lines.append(f"- **flagged for the instructor**: {late.problem}")
    if late.late_days == 0:
        lines.append("- on time: no penalty")
    else:
        lines.append(f"- {late.late_days} late day(s): penalty {late.penalty:.0%} of the score, "
                     f"{total:g} -> **{late.final(total):g} / {max_score:g}**")
    return lines + [""]
