"""Which hidden tests a student's local feedback shows, from ``@graded(visibility=...)``.

Gradescope reads the same field from results.json; the local feedback files follow it too:

* ``visible`` and ``after_published``: always shown (writing the feedback files is publishing);
* ``after_due_date``: withheld until the deadline of the late policy has passed (judged at the
  time the feedback is written, ``grade --feedback-date`` to choose it);
* ``hidden``: withheld from feedback;
* ``grade --show-hidden``: everything is shown (after the deadline, say, once grades are final).

With no late policy there is no deadline: ``after_due_date`` waits for ``--show-hidden``.
Withheld tests' points are left out of the score the feedback shows ("N hidden tests, shown after
the deadline"); ``grades.csv``, the Gradescope JSON and the instructor log always have every test.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metakit.grading.records import TestRecord

WITHHELD_BEFORE_DEADLINE = frozenset({"hidden", "after_due_date"})
WITHHELD_AFTER_DEADLINE = frozenset({"hidden"})


def withheld_visibilities(deadline: datetime | None, now: datetime, show_hidden: bool = False) -> frozenset[str]:
    """The visibilities left out of feedback written at ``now`` (aware datetimes)."""
    if show_hidden:
        return frozenset()
    if deadline is not None and now >= deadline:
        return WITHHELD_AFTER_DEADLINE
    return WITHHELD_BEFORE_DEADLINE


def split_tests(tests: list[TestRecord], withheld: frozenset[str]) -> tuple[list[TestRecord], list[TestRecord]]:
    """(shown, withheld) test records, in their order."""
    shown = [t for t in tests if t.visibility not in withheld]
    hidden = [t for t in tests if t.visibility in withheld]
    return shown, hidden


def withheld_line(hidden: list[TestRecord]) -> str:
    """What the feedback says about the tests it does not show."""
    after = sum(t.visibility == "after_due_date" for t in hidden)
    never = len(hidden) - after
    parts = []
    if after:
        parts.append(f"{after} hidden test{'s' if after != 1 else ''}, shown after the deadline")
    if never:
        parts.append(f"{never} hidden test{'s' if never != 1 else ''} not shown in feedback")
    points = sum(t.max_points for t in hidden)
    return f"{' and '.join(parts)} ({points:g} points, not in the score above)."
