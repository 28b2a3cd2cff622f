"""Known-wrong variants of a reference solution, for proving that graders catch wrong work.

A variant file (``tests/variants/<hw>/<name>.py``) has a docstring whose first line says what is
wrong and a ``catches:`` line naming the hidden tests that must fail, then one or more cells::

    # %% grade_id: softmax
    def softmax(logits): ...

:func:`apply_variant` writes the reference notebook with those cells replaced (metadata kept).
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

CELL_MARK = re.compile(r"^# %% grade_id:\s*(\S+)\s*$", re.MULTILINE)


@dataclass
class Variant:
    name: str
    description: str
    catches: list[str]
    cells: dict[str, str]


def load_variant(path: Path) -> Variant:
    text = Path(path).read_text()
    doc = ast.get_docstring(ast.parse(text)) or ""
    catches_line = next((line for line in doc.splitlines() if line.strip().startswith("catches:")), "")
    catches = [t.strip() for t in catches_line.partition(":")[2].replace(",", " ").split() if t.strip()]
    if not catches:
        raise ValueError(f"{path}: the docstring needs a 'catches: test_a, test_b' line")
    pieces = CELL_MARK.split(text)
    cells = {pieces[i]: pieces[i + 1].strip("\n") + "\n" for i in range(1, len(pieces), 2)}
    if not cells:
        raise ValueError(f"{path}: no '# %% grade_id: <id>' cell")
    return Variant(Path(path).stem, doc.splitlines()[0] if doc else Path(path).stem, catches, cells)


def apply_variant(reference: Path, variant: Variant, out: Path) -> Path:
    """Write ``reference`` with the variant's cells replaced; every grade_id must exist."""
    notebook = json.loads(Path(reference).read_text())
    remaining = dict(variant.cells)
    for cell in notebook["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in remaining:
            cell["source"] = remaining.pop(gid)
    if remaining:
        raise ValueError(f"variant {variant.name}: no cell with grade_id {', '.join(remaining)} in {reference}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(notebook, indent=1))
    return out


def variants_for(hw: str, root: Path) -> list[Path]:
    folder = root / "tests" / "variants" / hw
    return sorted(folder.glob("*.py")) if folder.exists() else []
