"""Known-wrong variants of a reference solution, for proving that graders catch wrong work.

A variant file (``tests/variants/<hw>/<name>.py``) has a docstring whose first line says what is
wrong and a ``catches:`` line naming the hidden tests that must fail, then one or more cells, each
either a whole replacement of a reference cell::

    # %% grade_id: softmax
    def softmax(logits): ...

or, shorter and clearer when the bug is one line, a patch of it (the reference lines must appear
exactly once in the cell)::

    # %% grade_id: softmax
    # <<< reference
        shifted = logits - logits.max(dim=-1, keepdim=True).values
    # === wrong
        shifted = logits
    # >>>

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
    header = CELL_MARK.split(text)[0]  # the docstring; cells after it may be patches, not Python
    doc = ast.get_docstring(ast.parse(header)) or ""
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
            original = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = _apply_cell(remaining.pop(gid), original, f"{variant.name}/{gid}")
    if remaining:
        raise ValueError(f"variant {variant.name}: no cell with grade_id {', '.join(remaining)} in {reference}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(notebook, indent=1))
    return out


PATCH = re.compile(r"^# <<< reference\n(.*?)^# === wrong\n(.*?)^# >>>\s*$", re.MULTILINE | re.DOTALL)


def _apply_cell(replacement: str, original: str, where: str) -> str:
    """A whole new cell, or the original with every ``<<< reference / === wrong / >>>`` patch applied."""
    patches = PATCH.findall(replacement)
    if not patches:
        return replacement
    for old, new in patches:
        if original.count(old) != 1:
            raise ValueError(f"variant {where}: the reference lines of a patch appear "
                             f"{original.count(old)} times in the cell (need exactly once):\n{old}")
        original = original.replace(old, new)
    return original


def variants_for(hw: str, root: Path) -> list[Path]:
    folder = root / "tests" / "variants" / hw
    return sorted(folder.glob("*.py")) if folder.exists() else []
