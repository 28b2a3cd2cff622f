"""Which hidden tests run each graded function: from probes (the function replaced by one that
raises), cached per notebook and graders, or, without probes, every usable test in
:func:`likeliest_first` order."""
from __future__ import annotations

import ast
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from metakit.grading.mutation import MODULE_LEVEL, probe_source, solution_cells, with_cell
from metakit.grading.validity.graders import GradeFn


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
