"""What happened to each mutant (:class:`Outcome`), the equivalence file that excuses some, and the
score over them."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from metakit.grading.mutation import MODULE_LEVEL, Mutant

TIMEOUT_MARKERS = ("did not finish within", "did not run to the end", "took more than",
                   "of CPU time")
EQUIVALENTS_FILE = "equivalent_mutants.md"
ID_PATTERN = re.compile(r"^[\w.<>-]+:[\w.<>-]+:\+\d+:\w+:[0-9a-f]{8}$")
ITEM = re.compile(r"^\s*[-*]\s+`(?P<id>[^`]+)`\s*(?P<rest>.*)$")


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
