"""Mutants of an assignment's reference solution: mutmut's operators applied to its solution cells.

A mutant is the reference notebook with one small change in one graded cell (``+`` -> ``-``,
``<`` -> ``<=``, ``dim=-1`` -> ``dim=-2``, an argument dropped, a call statement removed, ...).
The operators are mutmut's own (:mod:`mutmut.mutation.mutators`, run by mutmut's libcst
``MutationVisitor``, which also skips type annotations and decorators), plus two that mutmut does
not have and that matter for training code: removing a call statement (``optimizer.step()``)
and replacing a returned value by ``None``. mutmut itself cannot run on a notebook (it copies
source files into ``mutants/`` with trampolines and runs pytest in-process), so only its mutation
engine is used here; :mod:`metakit.grading.validity` grades each mutant through the real CLI.

What is mutated: the solution cells of ``solutions/<hw>/<hw>.ipynb`` (nbgrader ``solution: true``
code cells), only inside their ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions, plus the
default values in the signatures of the functions those cells define (documented defaults should
be checked). Never mutated: docstrings, the arguments of ``raise`` (error message text is not
behaviour a docstring specifies), ``print`` calls and type annotations.

Everything is deterministic: the same notebook gives the same mutants, in the same order, with the
same ids. An id (``cell:function:+line:operator:hash``) names the cell, the graded function or
method, the line relative to its ``def`` and the change, so it survives edits elsewhere in the cell.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider
from mutmut.mutation.file_mutation import MutationVisitor, deep_replace
from mutmut.mutation.mutators import mutation_operators
from mutmut.mutation.pragma_handling import IgnoredCode

from metakit.grading.intake import cell_source, nbgrader_meta

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MODULE_LEVEL = "<module>"
PROBE_MESSAGE = "metakit validity probe: this function was replaced by a probe"


# --------------------------------------------------------------------------- operators
def operator_call_removal(node: cst.Expr) -> Iterable[cst.BaseSmallStatement]:
    """``optimizer.step()`` -> ``pass``: a call made for its effect is left out."""
    if isinstance(node.value, cst.Call):
        yield cst.Pass()


def operator_return_none(node: cst.Return) -> Iterable[cst.Return]:
    """``return x`` -> ``return None``."""
    if node.value is not None and not m.matches(node.value, m.Name("None")):
        yield node.with_changes(value=cst.Name("None"))


def _short(fn: Callable) -> str:
    return fn.__name__.removeprefix("operator_")


OPERATORS: list[tuple[type, Callable]] = [
    *mutation_operators,
    (cst.Expr, operator_call_removal),
    (cst.Return, operator_return_none),
]


# --------------------------------------------------------------------------- mutants
@dataclass(frozen=True)
class Mutant:
    """One change to one solution cell of the reference notebook."""

    index: int          # position in generation order (stable)
    grade_id: str       # the solution cell
    function: str       # graded function or method ("softmax", "TaskConditionedNet.forward")
    operator: str       # mutmut operator name ("swap_op", "number", ...) or ours ("call_removal")
    line: int           # line in the cell (1-based)
    rel_line: int       # line relative to the function's ``def`` line (0 = the signature)
    before: str         # the code of the node that was changed
    after: str          # what it became
    reference: str      # the cell's reference source
    source: str         # the mutated cell's source
    id: str

    @property
    def valid(self) -> bool:
        """Does the mutated cell still compile? (A mutant that does not is "invalid".)"""
        try:
            compile(self.source, f"<{self.grade_id}>", "exec")
        except SyntaxError:
            return False
        return True

    @property
    def change(self) -> str:
        return f"{_one_line(self.before)} -> {_one_line(self.after)}"

    def diff(self) -> str:
        lines = difflib.unified_diff(self.reference.splitlines(), self.source.splitlines(),
                                     f"reference/{self.grade_id}", f"mutant/{self.grade_id}",
                                     n=1, lineterm="")
        return "\n".join(lines)


def _one_line(code: str, width: int = 70) -> str:
    text = " ".join(code.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def solution_cells(notebook: dict) -> dict[str, str]:
    """``{grade_id: source}`` of every solution code cell, in notebook order."""
    cells = {}
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if cell.get("cell_type") == "code" and meta.get("solution") and "grade_id" in meta:
            cells[meta["grade_id"]] = cell_source(cell)
    return cells


def solution_lines(source: str) -> set[int]:
    """1-based line numbers strictly inside the BEGIN/END SOLUTION regions of a cell."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip().startswith(BEGIN):
            inside = True
        elif line.strip().startswith(END):
            inside = False
        elif inside:
            lines.add(number)
    return lines


class _Cell:
    """A parsed solution cell with the metadata needed to place and filter mutations."""

    def __init__(self, grade_id: str, source: str) -> None:
        self.grade_id, self.source = grade_id, source
        self.wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.parents = self.wrapper.resolve(ParentNodeProvider)
        self.region = solution_lines(source)

    def ancestors(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        chain = []
        while node in self.parents:
            node = self.parents[node]
            chain.append(node)
        return chain

    def line_of(self, node: cst.CSTNode) -> int:
        for candidate in [node, *self.ancestors(node)]:
            if candidate in self.positions:
                return self.positions[candidate].start.line
        return 1

    def owner(self, node: cst.CSTNode) -> tuple[str, int]:
        """The graded function or method holding ``node`` and the line of its ``def``."""
        defs = [a for a in reversed(self.ancestors(node)) if isinstance(a, (cst.FunctionDef, cst.ClassDef))]
        if not defs:
            return MODULE_LEVEL, 1
        if isinstance(defs[0], cst.ClassDef):
            method = next((d for d in defs[1:] if isinstance(d, cst.FunctionDef)), None)
            if method is None:
                return defs[0].name.value, self._def_line(defs[0])
            return f"{defs[0].name.value}.{method.name.value}", self._def_line(method)
        return defs[0].name.value, self._def_line(defs[0])

    def _def_line(self, node: cst.FunctionDef | cst.ClassDef) -> int:
        return self.positions[node.name].start.line

    def allowed(self, node: cst.CSTNode) -> bool:
        """Inside a solution region or a signature default; not a docstring, raise, or print."""
        chain = [node, *self.ancestors(node)]
        for a in chain:
            if isinstance(a, cst.Raise) or (isinstance(a, cst.Call) and m.matches(a.func, m.Name("print"))):
                return False
            if isinstance(a, cst.Expr) and isinstance(a.value, (cst.SimpleString, cst.ConcatenatedString)):
                return False
        in_default = any(isinstance(parent, cst.Param) and parent.default is child
                         for child, parent in zip(chain, chain[1:]))
        return in_default or self.line_of(node) in self.region


def generate_mutants(notebook: dict) -> list[Mutant]:
    """Every mutant of every solution cell of ``notebook`` (a v4 dict), in a fixed order.

    Mutants that give the same cell source as an earlier one, or the reference source, are left
    out; mutants that do not compile are kept (``valid`` is False) so that they are counted.
    """
    mutants: list[Mutant] = []
    seen: set[tuple[str, str]] = set()
    occurrences: Counter = Counter()
    for grade_id, source in solution_cells(notebook).items():
        cell = _Cell(grade_id, source)
        tags: dict[int, str] = {}

        def tagged(fn: Callable) -> Callable:
            def operator(node):
                for mutated in fn(node):
                    tags[id(mutated)] = _short(fn)
                    yield mutated
            return operator

        visitor = MutationVisitor([(t, tagged(fn)) for t, fn in OPERATORS], IgnoredCode(set(), set(), set()))
        cell.wrapper.visit(visitor)
        for mutation in visitor.mutations:
            node = mutation.original_node
            if not cell.allowed(node):
                continue
            mutated_source = deep_replace(cell.module, node, mutation.mutated_node).code
            if mutated_source == source or (grade_id, mutated_source) in seen:
                continue
            seen.add((grade_id, mutated_source))
            function, def_line = cell.owner(node)
            line = cell.line_of(node)
            operator = tags[id(mutation.mutated_node)]
            before = cell.module.code_for_node(node)
            after = cell.module.code_for_node(mutation.mutated_node)
            key = (grade_id, function, line - def_line, operator, before, after)
            occurrences[key] += 1
            digest = hashlib.sha1(f"{before}\0{after}\0{occurrences[key]}".encode()).hexdigest()[:8]
            mutants.append(Mutant(len(mutants), grade_id, function, operator, line, line - def_line,
                                  before, after, source, mutated_source,
                                  f"{grade_id}:{function}:+{line - def_line}:{operator}:{digest}"))
    return mutants


def functions(notebook: dict) -> list[tuple[str, str]]:
    """``(grade_id, function)`` of every graded function or method defined by a solution cell."""
    found = []
    for grade_id, source in solution_cells(notebook).items():
        for statement in cst.parse_module(source).body:
            if isinstance(statement, cst.FunctionDef):
                found.append((grade_id, statement.name.value))
            elif isinstance(statement, cst.ClassDef):
                found += [(grade_id, f"{statement.name.value}.{s.name.value}")
                          for s in statement.body.body if isinstance(s, cst.FunctionDef)]
    return found


# --------------------------------------------------------------------------- notebooks
def with_cell(notebook: dict, grade_id: str, source: str) -> dict:
    """A copy of ``notebook`` with the code cell ``grade_id`` replaced by ``source``."""
    result = copy.deepcopy(notebook)
    for cell in result["cells"]:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            cell["source"] = source
            return result
    raise ValueError(f"no cell with grade_id {grade_id!r}")


def write_notebook(notebook: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1))
    return path


def probe_source(source: str, function: str) -> str | None:
    """The cell with ``function`` (``f`` or ``Class.method``) raising at its first line.

    Graded against every hidden test, the probe shows which tests run the function at all: a
    mutation inside it cannot change the outcome of the others. None when there is no body to
    put the probe in (a one-line ``def``)."""
    module = cst.parse_module(source)
    path = function.split(".")
    probe = cst.parse_statement(f"raise RuntimeError({PROBE_MESSAGE!r})\n")

    class Insert(cst.CSTTransformer):
        def __init__(self) -> None:
            self.stack: list[str] = []
            self.done = False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            self.stack.append(node.name.value)
            return True

        def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
            self.stack.pop()
            return updated

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            self.stack.append(node.name.value)
            return True

        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
            here, self.stack = self.stack, self.stack[:-1]
            if here != path or not isinstance(updated.body, cst.IndentedBlock) or self.done:
                return updated
            body = list(updated.body.body)
            first = body[0] if body else None
            at = 1 if (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1
                       and isinstance(first.body[0], cst.Expr)
                       and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))) else 0
            self.done = True
            return updated.with_changes(body=updated.body.with_changes(body=[*body[:at], probe, *body[at:]]))

    transformer = Insert()
    probed = module.visit(transformer)
    return probed.code if transformer.done else None
