"""Every instructor notebook runs top to bottom with small settings (METAKIT_SMALL=1), so none rots, and every
figure it draws passes :func:`metakit.plot.figure_problems` (titles, axis labels, no text on text, nothing cut
off, legends off the data), checked after each cell in the same run."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from metakit.paths import REPO_ROOT
from tests.test_device import accelerator

NOTEBOOKS = sorted((REPO_ROOT / "solutions").glob("*/*.ipynb"))
REPORT_MARKER = "FIGURE REPORT: "

# Runs first in the kernel: after every cell, check each open figure, note what is wrong, close it. Everything
# lives in a closure, so no name of the notebook's own can clash with the check's.
FIGURE_HOOK = """\
def _metakit_figure_hook():
    import matplotlib.pyplot as plt
    from metakit.plot import figure_problems

    report = {"cells": 0, "figures": []}

    def check_figures(result):
        report["cells"] += 1
        source = result.info.raw_cell if result.info is not None else ""
        first_line = next((line for line in source.splitlines() if line.strip()), "")
        for number in plt.get_fignums():
            fig = plt.figure(number)
            titles = [t for t in [fig.get_suptitle()] + [ax.get_title(loc) for ax in fig.axes
                                                          for loc in ("left", "center", "right")] if t.strip()]
            report["figures"].append({"execution_count": result.execution_count, "first_line": first_line,
                                      "titles": titles, "problems": figure_problems(fig)})
            plt.close(fig)

    get_ipython().events.register("post_run_cell", check_figures)
    return report


_metakit_figure_report = _metakit_figure_hook()
"""

FIGURE_REPORT = f"import json\nprint({REPORT_MARKER!r} + json.dumps(_metakit_figure_report))\n"


def figure_report(notebook: nbformat.NotebookNode) -> dict:
    """The report the last cell printed, each figure tagged with the index of its cell in the original notebook."""
    text = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    assert REPORT_MARKER in text, f"the figure report cell printed no report: {text!r}"
    report = json.loads(text.split(REPORT_MARKER, 1)[1].splitlines()[0])
    index_of = {c.get("execution_count"): i - 1 for i, c in enumerate(notebook.cells) if c.cell_type == "code"}
    for figure in report["figures"]:
        figure["cell"] = index_of.get(figure.pop("execution_count"))
    return report


def run_with_figure_check(notebook: nbformat.NotebookNode, folder: Path) -> dict:
    """Execute the notebook (in place) with the figure check around it; its figure report."""
    notebook.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_HOOK))
    notebook.cells.append(nbformat.v4.new_code_cell(FIGURE_REPORT))
    client = NotebookClient(notebook, timeout=1800, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    return figure_report(notebook)


def figure_problem_lines(report: dict) -> list[str]:
    """Each problem of each figure, and each figure with no title at all, named by its cell."""
    problems = [f"cell {f['cell']} ({f['first_line']}): {p}" for f in report["figures"] for p in f["problems"]]
    return problems + [f"cell {f['cell']} ({f['first_line']}): the figure has no title (no suptitle, no axes title)"
                       for f in report["figures"] if not f["titles"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.parent.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    notebook = nbformat.read(path, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in notebook.cells)
    report = run_with_figure_check(notebook, tmp_path)
    assert report["cells"] >= code_cells + 1, f"the figure check ran after {report['cells']} cells of {code_cells}"
    problems = figure_problem_lines(report)
    print(f"{path.parent.name}: {len(report['figures'])} figures checked, {len(problems)} problems")
    print("\n".join(problems))
    assert not problems, "figure problems:\n" + "\n".join(problems)


def test_the_figure_check_names_the_cell_of_a_bad_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("a note"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [0, 1])"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\nax.set(title='fine', xlabel='x', "
                                  "ylabel='y')\nfig.tight_layout()"),
        nbformat.v4.new_code_cell("print(plt.get_fignums())"),
    ])
    report = run_with_figure_check(notebook, tmp_path)
    assert report["cells"] == 4 and len(report["figures"]) == 2
    assert [f["cell"] for f in report["figures"]] == [1, 2]
    assert "[]" in notebook.cells[4].outputs[0]["text"], "the check closed every figure after its cell"
    assert figure_problem_lines(report) == [
        "cell 1 (import matplotlib.pyplot as plt): axes 0 shows data but has no title (and the figure has no suptitle)",
        "cell 1 (import matplotlib.pyplot as plt): axes 0 has tick labels on its x axis but no x label",
        "cell 1 (import matplotlib.pyplot as plt): axes 0 has tick labels on its y axis but no y label",
        "cell 1 (import matplotlib.pyplot as plt): the figure has no title (no suptitle, no axes title)",
    ]


TRAINING_NOTEBOOKS = [p for p in NOTEBOOKS if "metakit.device" in p.read_text()]   # hw0-hw3 (hw_example trains nothing)


@pytest.mark.accelerator
@pytest.mark.parametrize("path", TRAINING_NOTEBOOKS, ids=[p.parent.name for p in TRAINING_NOTEBOOKS])
def test_notebook_runs_on_the_accelerator(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same small run with METAKIT_DEVICE set to the GPU this machine has (CUDA or Apple's MPS): every
    notebook's training moves there through metakit.device(), hw0's CPU default included."""
    found = accelerator()
    if found is None:
        pytest.skip("no CUDA or MPS device here (metakit.device() would pick the CPU)")
    where = found.type
    for name, value in {"METAKIT_SMALL": "1", "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "METAKIT_DEVICE": where}.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(path, as_version=4)
    run_with_figure_check(notebook, tmp_path)
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert f"{where}" in printed and f"METAKIT_DEVICE={where}" in printed, \
        f"{path.parent.name} did not say it runs on {where} (metakit.device.describe())"
