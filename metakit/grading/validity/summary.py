"""The result of a run (:class:`Report`) and its per-function counts (:func:`summarize`)."""
from __future__ import annotations

from dataclasses import dataclass

from metakit.grading.validity.outcomes import Outcome, score
from metakit.grading.validity.probes import Probes


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
