"""Build instructor notebooks in nbgrader format from Python (for authors' scripts and tests).

The notebook in ``solutions/`` is the source of truth; these helpers only make writing one less
error-prone: every cell gets the right ``metadata.nbgrader`` (see docs/authoring.md).
"""
from __future__ import annotations

import json
import types
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from metakit.grading.intake import definitions_only, nbgrader_meta

SCHEMA = 3


def _meta(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(text: str) -> nbformat.NotebookNode:
    """Task text (not locked: students may take notes)."""
    return new_markdown_cell(text.strip("\n"))


def given(grade_id: str, code: str) -> nbformat.NotebookNode:
    """Locked code the student runs but does not change; the grader uses this copy."""
    return new_code_cell(code.strip("\n"), metadata=_meta(grade_id, solution=False, grade=False, locked=True))


def solution(grade_id: str, code: str) -> nbformat.NotebookNode:
    """A graded solution cell: the part between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
    is replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` in the release."""
    if "### BEGIN SOLUTION" not in code:
        raise ValueError(f"solution cell {grade_id} has no ### BEGIN SOLUTION marker")
    return new_code_cell(code.strip("\n"), metadata=_meta(grade_id, solution=True, grade=False, locked=False))


def public_check(grade_id: str, code: str) -> nbformat.NotebookNode:
    """Quick public asserts (0 points: the hidden graders give the points)."""
    return new_code_cell(code.strip("\n"), metadata=_meta(grade_id, solution=False, grade=True, locked=True,
                                                          points=0))


def written_answer(grade_id: str, text: str, points: float) -> nbformat.NotebookNode:
    """A markdown answer cell, graded by hand (nbgrader's manual grading; ``points`` there), never
    by the hidden graders; the reference answer and its rubric (top level = ``points``) sit between
    the solution markers (docs/authoring.md, "Written answers")."""
    return new_markdown_cell(text.strip("\n"), metadata=_meta(grade_id, solution=True, grade=True, locked=False,
                                                               points=points))


def experiment(code: str) -> nbformat.NotebookNode:
    """Code the student runs (training, plots); the grader never runs it."""
    return new_code_cell(code.strip("\n"))


def notebook(cells: list, assignment: str, title: str | None = None) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "metakit": {"assignment": assignment, "title": title or assignment},
    })
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{assignment}-{i:03d}".replace("_", "-")
    return nb


def write(nb: nbformat.NotebookNode, path) -> None:
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def notebook_module(path: str | Path, name: str) -> types.ModuleType:
    """A notebook's given and solution cells (those with a ``grade_id``; public checks left out),
    definitions only, run in order as a module.

    For benchmarks, calibration scripts and tests that run the reference solution in-process; the
    grader itself never imports a submission this way (it runs one in a sandboxed worker).
    """
    notebook = json.loads(Path(path).read_text())
    module = types.ModuleType(name)
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] != "code" or "grade_id" not in meta or (meta.get("grade") and not meta.get("solution")):
            continue
        source = definitions_only("".join(cell["source"]))
        exec(compile(source, f"<{meta['grade_id']}>", "exec"), module.__dict__)  # noqa: S102
    return module
