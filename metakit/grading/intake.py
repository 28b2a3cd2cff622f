"""From a submitted notebook to the cells the grader runs: parse, match, keep definitions.

The template is the released student notebook (``assignments/<hw>/<hw>.ipynb``): it says which
cells are given (locked: the template's copy is used whatever the student did to theirs), which
are solutions (the student's copy is used) and which names each solution cell defines (to find a
cell whose metadata was lost). From every cell only definitions are kept: imports, functions,
classes and constant assignments; training runs and plots never run in the grader. Lines that are
dropped become blank, so line numbers in error messages are the student's own.

Nothing here executes student code: the notebook is parsed as JSON and the cells with ``ast``.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

STATIC_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.List, ast.Set, ast.Dict,
                ast.UnaryOp, ast.BinOp, ast.Load, ast.operator, ast.unaryop, ast.expr_context)
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class NotebookError(ValueError):
    """The whole notebook cannot be read; the message says why and where."""


@dataclass
class TemplateCell:
    grade_id: str
    kind: str  # "given", "solution" or "check"
    code: str
    names: list[str]


@dataclass
class Intake:
    """The cells to run (``{"label", "code"}`` in order) and what the student should be told."""

    cells: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cell_problems: dict[str, str] = field(default_factory=dict)
    defined_by: dict[str, str] = field(default_factory=dict)
    fatal: str | None = None

    def load_report(self) -> dict:
        return {"defined_by": self.defined_by, "cell_problems": self.cell_problems, "notes": self.notes}

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cells.json").write_text(json.dumps(self.cells, indent=1))
        (folder / "intake.json").write_text(json.dumps({**self.load_report(), "fatal": self.fatal}, indent=1))
        parts = [f"# --- {c['label']} ---\n{c['code']}" for c in self.cells]
        (folder / "submission.py").write_text("# Built by metakit from the submitted notebook.\n\n" + "\n\n".join(parts))


# --------------------------------------------------------------------------- reading
def read_notebook(path: Path) -> dict:
    """The notebook as a v4 dict, or a NotebookError that says what is wrong with the file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise NotebookError(f"cannot read {Path(path).name}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotebookError(f"{Path(path).name} is not a text file (not UTF-8): is it really a notebook?") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{Path(path).name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "The file is damaged or was cut short: open it in Jupyter, or re-download your last "
            "checkpoint, and submit again."
        ) from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise NotebookError(f"{Path(path).name} is JSON but not a Jupyter notebook (no 'nbformat' field)")
    major = data.get("nbformat")
    if major != 4:
        try:
            converted = nbformat.convert(nbformat.from_dict(data), 4)
        except Exception as exc:  # noqa: BLE001 - any failure is the same message
            raise NotebookError(f"{Path(path).name} is in notebook format {major}, which could not "
                                f"be converted to format 4: {exc}") from None
        data = json.loads(json.dumps(converted))
        data.setdefault("metadata", {})["metakit_converted_from"] = major
    if not isinstance(data.get("cells"), list):
        raise NotebookError(f"{Path(path).name} has no list of cells")
    return data


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


# --------------------------------------------------------------------------- template
def template_cells(template: dict) -> dict[str, TemplateCell]:
    cells: dict[str, TemplateCell] = {}
    for cell in template["cells"]:
        meta = nbgrader_meta(cell)
        if cell.get("cell_type") != "code" or "grade_id" not in meta:
            continue
        if meta.get("solution"):
            kind = "solution"
        elif meta.get("grade"):
            kind = "check"
        else:
            kind = "given"
        code = to_python(cell_source(cell))
        cells[meta["grade_id"]] = TemplateCell(meta["grade_id"], kind, code, defined_names(code))
    return cells


def to_python(source: str) -> str:
    """IPython syntax (``%magic``, ``!shell``) to plain Python, keeping line numbers."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to the syntax check
        return source


def defined_names(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


# --------------------------------------------------------------------------- filtering
def keeps(node: ast.stmt) -> bool:
    """Is this top-level statement a definition the grader should run?"""
    if isinstance(node, DEFINITIONS):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        value = node.value
        return value is None or all(isinstance(n, STATIC_NODES) for n in ast.walk(value))
    if isinstance(node, (ast.If, ast.Try)):
        bodies = [node.body, node.orelse] + ([h.body for h in node.handlers] + [node.finalbody]
                                             if isinstance(node, ast.Try) else [])
        return all(keeps(child) or isinstance(child, ast.Pass) for body in bodies for child in body)
    return False


def definitions_only(code: str) -> str:
    """``code`` with every non-definition top-level statement blanked (line numbers kept)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    kept_lines: set[int] = set()
    dropped: list[tuple[int, int]] = []
    for node in tree.body:
        start = node.lineno if not getattr(node, "decorator_list", None) else node.decorator_list[0].lineno
        span = (start, node.end_lineno or node.lineno)
        if keeps(node):
            kept_lines.update(range(span[0], span[1] + 1))
        else:
            dropped.append(span)
    if any(line in kept_lines for a, b in dropped for line in range(a, b + 1)):
        kept = [n for n in tree.body if keeps(n)]  # statements share lines: rebuild the cell
        return ast.unparse(ast.Module(body=kept, type_ignores=[]))
    for a, b in dropped:
        for i in range(a - 1, b):
            lines[i] = ""
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- matching
def intake(template: dict, submission_path: Path) -> Intake:
    """Match a submission against the template and build the cells the grader will run."""
    result = Intake()
    spec = template_cells(template)
    for gid, cell in spec.items():
        if cell.kind == "solution":
            for name in cell.names:
                result.defined_by[name] = gid
    try:
        notebook = read_notebook(submission_path)
    except NotebookError as exc:
        result.fatal = str(exc)
        for gid, cell in spec.items():
            if cell.kind == "solution":
                result.cell_problems[gid] = f"your notebook could not be read: {exc}"
        return result
    if "metakit_converted_from" in notebook.get("metadata", {}):
        result.notes.append(f"your notebook was in the old format "
                            f"{notebook['metadata']['metakit_converted_from']}; it was converted to format 4")
    student_cells = _student_cells(notebook, spec, result)
    given_missing = [c for c in spec.values() if c.kind == "given" and c.grade_id not in
                     {s["grade_id"] for s in student_cells}]
    cells = [{"label": c.grade_id, "grade_id": c.grade_id, "code": c.code, "given": True} for c in given_missing]
    cells += student_cells
    _match_lost_solutions(cells, spec, result)
    for entry in cells:
        _keep_definitions(entry, result)
    result.cells = [{"label": c["label"], "code": c["code"]} for c in cells if c["code"].strip()]
    return result


def _student_cells(notebook: dict, spec: dict[str, TemplateCell], result: Intake) -> list[dict]:
    cells, seen = [], {}
    for index, cell in enumerate(notebook["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id")
        template = spec.get(gid) if gid else None
        if template is not None and template.kind == "check":
            continue
        if template is not None and template.kind == "given":
            code, label = template.code, gid
        elif template is not None:
            code, label = to_python(cell_source(cell)), gid
        else:
            code, label, gid = to_python(cell_source(cell)), f"cell {index}", None
        if gid:
            seen[gid] = seen.get(gid, 0) + 1
        cells.append({"label": label, "grade_id": gid, "code": code, "given": template is not None
                      and template.kind == "given", "index": index})
    for gid, count in seen.items():
        if count > 1 and spec[gid].kind == "solution":
            result.notes.append(f"the cell `{gid}` appears {count} times in your notebook; "
                                f"the grader runs all of them in order, so the last one wins")
    return cells


def _match_lost_solutions(cells: list[dict], spec: dict[str, TemplateCell], result: Intake) -> None:
    present = {c["grade_id"] for c in cells if c["grade_id"]}
    for gid, template in spec.items():
        if template.kind != "solution" or gid in present:
            continue
        wanted = set(template.names)
        match = None
        for entry in cells:
            if entry["grade_id"] is None and wanted and wanted & set(defined_names(entry["code"])):
                match = entry
        if match is not None:
            result.notes.append(f"no cell has the grade_id `{gid}` (its metadata was lost); using "
                                f"{match['label']} of your notebook, which defines "
                                f"{', '.join(sorted(wanted & set(defined_names(match['code']))))}")
            match["label"], match["grade_id"] = gid, gid
        elif wanted:
            result.cell_problems[gid] = (
                f"it is missing from your notebook: no cell has the grade_id `{gid}` and no cell "
                f"defines {', '.join(sorted(wanted))}. Did you delete it? Copy it back from the "
                f"released notebook."
            )


def _keep_definitions(entry: dict, result: Intake) -> None:
    try:
        entry["code"] = definitions_only(entry["code"])
    except SyntaxError as exc:
        problem = f"has a syntax error at line {exc.lineno}: {exc.msg}" + (
            f" ({(exc.text or '').strip()})" if exc.text else "")
        if entry.get("grade_id"):
            result.cell_problems[entry["grade_id"]] = problem
        result.notes.append(f"{entry['label']} {problem}; the grader skipped it")
        entry["code"] = ""
