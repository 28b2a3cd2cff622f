"""``python -m metakit check NOTEBOOK``: the public checks, run the way the grader runs code.

A student sees in seconds what the grader will see: whether the notebook can be read, which cells
were found, which names are missing, and whether the public checks of the released notebook pass
against their code (run in a worker process, like the hidden graders; never the hidden tests).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from metakit.grading.errors import GraderError, StudentProblem
from metakit.grading.intake import NotebookError, intake, nbgrader_meta, read_notebook, template_cells
from metakit.grading.runner import Kit
from metakit.grading.sandbox import Limits, SandboxConfig, choose_isolation
from metakit.grading.session import StudentSession


@dataclass
class CheckResult:
    hw: str
    notes: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    fatal: str | None = None
    isolation: str = ""

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.problems and all(ok for _, ok, _ in self.checks)

    def render(self) -> str:
        lines = [f"metakit check: {self.hw}" + (f" ({self.isolation} isolation)" if self.isolation else "")]
        if self.fatal:
            return "\n".join(lines + [f"  cannot grade this notebook: {self.fatal}"])
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  problem in cell `{gid}`: {p}" for gid, p in self.problems.items()]
        for label, ok, message in self.checks:
            lines.append(f"  [{'PASS' if ok else 'FAIL'}] {label}" + ("" if ok else "\n      " +
                         message.replace("\n", "\n      ")))
        passed = sum(ok for _, ok, _ in self.checks)
        lines.append(f"  {passed} / {len(self.checks)} public checks passed. The hidden graders test more: "
                     f"edge cases, shapes, gradients, a short training run.")
        return "\n".join(lines)


def guess_assignment(path: Path) -> str:
    try:
        meta = read_notebook(path).get("metadata", {}).get("metakit", {})
        if isinstance(meta, dict) and meta.get("assignment"):
            return str(meta["assignment"])
    except NotebookError:
        pass
    return path.stem


def check_notebook(path: Path, hw: str | None = None, kit: Kit | None = None, timeout: float = 300,
                   isolation: str = "auto") -> CheckResult:
    kit = kit or Kit()
    hw = hw or guess_assignment(path)
    result = CheckResult(hw)
    if not kit.template(hw).exists():
        result.fatal = f"no released notebook for an assignment called {hw!r}; pass --hw"
        return result
    template = read_notebook(kit.template(hw))
    taken = intake(template, path)
    result.notes, result.problems, result.fatal = taken.notes, taken.cell_problems, taken.fatal
    if taken.fatal:
        return result
    checks = [(meta["grade_id"], cell) for cell in template["cells"]
              if (meta := nbgrader_meta(cell)).get("grade") and not meta.get("solution")
              and cell.get("cell_type") == "code"]
    specs = template_cells(template)
    with tempfile.TemporaryDirectory(prefix="metakit-check-") as tmp:
        taken.write(Path(tmp))
        sandbox = SandboxConfig(hidden_paths=[*kit.private_paths(), Path(tmp), Path(path).resolve()],
                                data_paths=kit.config(hw).data_paths(kit.root), isolation=isolation)
        try:
            result.isolation = choose_isolation(sandbox)
        except GraderError as exc:
            result.fatal = f"the checks could not run on this machine (not a problem in your notebook): {exc}"
            return result
        session = StudentSession(Path(tmp) / "cells.json", Limits(wall_s=timeout), sandbox, seed=0,
                                 mode=result.isolation, load_report=taken.load_report())
        try:
            for grade_id, _ in checks:
                try:
                    session.exec_public(specs[grade_id].code, grade_id)
                    result.checks.append((grade_id, True, ""))
                except StudentProblem as exc:
                    result.checks.append((grade_id, False, str(exc)))
                except GraderError as exc:
                    result.fatal = f"the checks could not run on this machine (not a problem in your notebook): {exc}"
                    return result
        finally:
            session.close()
    return result
