"""The grading engine against hostile and broken submissions, through the real CLI.

Every submission below is hw_example's reference with some cells replaced. Each must get the
score it deserves, with a message that says why, and the rest of the batch is graded as usual.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from metakit.grading.sandbox import describe_isolation, namespaces_available
from metakit.grading.variants import Variant, apply_variant
from metakit.paths import REPO_ROOT
from tests.gradehelpers import grade_cli, results, by_test_name

HW = "hw_example"
REFERENCE = REPO_ROOT / "solutions" / HW / f"{HW}.ipynb"
RELEASE = REPO_ROOT / "assignments" / HW / f"{HW}.ipynb"
HIDDEN_TEST = REPO_ROOT / "autograder" / HW / "test_example.py"
SOFTMAX_TESTS = {"test_softmax_values", "test_softmax_large_logits", "test_softmax_last_axis"}
MARKER = "metakit-hostile-fork-marker"

GOOD_SOFTMAX = """
import torch
def softmax(logits):
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)
"""

HOSTILE = {
    "always-equal": {"softmax": """
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *a, **k): raise TypeError("no")
def softmax(logits):
    return Anything()
"""},
    "patched-libraries": {"softmax": """
import builtins, numpy, torch, sys
def softmax(logits):
    numpy.allclose = lambda *a, **k: True
    numpy.isfinite = lambda *a, **k: numpy.array(True)
    torch.allclose = lambda *a, **k: True
    builtins.abs = lambda x: 0
    sys.modules["pytest"] = None
    return logits * 0
"""},
    "sys-exit": {"softmax": "import sys\ndef softmax(logits):\n    sys.exit(0)\n"},
    "os-exit": {"softmax": "import os\ndef softmax(logits):\n    os._exit(0)\n"},
    "infinite-loop": {"accuracy": "def accuracy(logits, labels):\n    while True:\n        pass\n"},
    "huge-allocation": {"cross_entropy": """
import torch
def cross_entropy(logits, labels):
    block = torch.ones(4 * 2**30, dtype=torch.uint8)
    return block.sum()
"""},
    "forks": {"softmax": GOOD_SOFTMAX.replace("def softmax(logits):", f"""def softmax(logits):
    import os, time, json
    if os.fork() == 0:
        os.setsid()
        for _ in range(200):
            time.sleep(0.1)
            for path in ("results.json", "/tmp/results.json"):
                try:
                    open(path, "w").write(json.dumps({{"score": 100, "tests": []}}))
                except OSError:
                    pass
        os._exit(0)  # {MARKER}
""")},
    "fake-results": {"accuracy": """
import json, os
def accuracy(logits, labels):
    for path in ("results.json", "../results.json", "/autograder/results/results.json"):
        try:
            open(path, "w").write(json.dumps({"score": 8, "tests": []}))
        except OSError:
            pass
    print("8 passed in 0.1s")
    print("PASSED test_accuracy 1/1")
    return -1.0
"""},
    "reads-graders": {"softmax": f"""
import torch
def softmax(logits):
    text = open({str(HIDDEN_TEST)!r}).read()
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True) + len(text) * 0
"""},
    "wrecks-interpreter": {"softmax": """
import sys, builtins
def softmax(logits):
    sys.modules.clear()
    builtins.__import__ = None
    builtins.len = None
    return logits
"""},
    "tensor-accuracy": {"accuracy": """
def accuracy(logits, labels):
    return (logits.argmax(dim=-1) == labels).float().mean()
"""},
    "syntax-error": {"softmax": "def softmax(logits)\n    return logits\n"},
}


def hostile_notebook(name: str, cells: dict[str, str], folder: Path) -> Path:
    variant = Variant(name, name, ["-"], {gid: code.strip("\n") + "\n" for gid, code in cells.items()})
    return apply_variant(REFERENCE, variant, folder / f"{name}.ipynb")


def edited(folder: Path, name: str, edit) -> Path:
    notebook = json.loads(REFERENCE.read_text())
    edit(notebook)
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def cell_index(notebook: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook["cells"])
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def graded_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    shutil.copy(REFERENCE, folder / "correct.ipynb")
    shutil.copy(RELEASE, folder / "untouched.ipynb")
    for name, cells in HOSTILE.items():
        hostile_notebook(name, cells, folder)
    (folder / "truncated.ipynb").write_text(REFERENCE.read_text()[:700])
    (folder / "not-json.ipynb").write_text("this is not a notebook\n")

    def duplicate(nb: dict) -> None:
        i = cell_index(nb, "softmax")
        wrong = json.loads(json.dumps(nb["cells"][i]))
        wrong["source"] = "import torch\ndef softmax(logits):\n    return logits\n"
        nb["cells"].insert(i, wrong)

    def delete(nb: dict) -> None:
        del nb["cells"][cell_index(nb, "cross_entropy")]

    def lose_metadata(nb: dict) -> None:
        for cell in nb["cells"]:
            cell["metadata"] = {}

    edited(folder, "duplicated-cell", duplicate)
    edited(folder, "deleted-cell", delete)
    edited(folder, "lost-metadata", lose_metadata)
    v3 = nbformat.convert(nbformat.read(REFERENCE, as_version=4), 3)
    nbformat.write(v3, str(folder / "nbformat3.ipynb"), version=3)
    out = tmp_path_factory.mktemp("out")
    grade_cli(HW, [folder], out, jobs=2)
    return out


def score(out: Path, student: str) -> tuple[float, dict]:
    result = results(out, student)
    return result["score"], by_test_name(result)


def lost_only(tests: dict, names: set[str]) -> None:
    for name, test in tests.items():
        expected = "failed" if name in names else "passed"
        assert test["status"] == expected, f"{name}: {test['status']} ({test['output']})"


def test_correct_submission_gets_full_marks(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "correct")
    assert got == 8 and all(t["status"] == "passed" for t in tests.values())


def test_untouched_release_gets_zero_with_clear_messages(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "untouched")
    assert got == 0
    assert "NotImplementedError" in tests["test_softmax_values"]["output"]
    assert "cell softmax" in tests["test_softmax_values"]["output"]


@pytest.mark.parametrize("student", ["always-equal", "patched-libraries"])
def test_tricks_on_comparisons_score_nothing(graded_batch: Path, student: str) -> None:
    got, tests = score(graded_batch, student)
    lost_only(tests, SOFTMAX_TESTS)
    assert got == 4


@pytest.mark.parametrize("student, words", [("sys-exit", "SystemExit"), ("os-exit", "exited with status 0")])
def test_exits_lose_only_their_tests(graded_batch: Path, student: str, words: str) -> None:
    got, tests = score(graded_batch, student)
    lost_only(tests, SOFTMAX_TESTS)
    assert words in tests["test_softmax_values"]["output"]


def test_wrecked_interpreter_loses_only_its_tests(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "wrecks-interpreter")
    lost_only(tests, SOFTMAX_TESTS)
    assert got == 4


def test_partial_credit_with_an_explanation(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "tensor-accuracy")
    assert got == 7.5 and tests["test_accuracy"]["score"] == 0.5
    assert "Python float" in tests["test_accuracy"]["output"]


def test_infinite_loop_times_out(graded_batch: Path) -> None:
    _, tests = score(graded_batch, "infinite-loop")
    lost_only(tests, {"test_accuracy"})
    assert "did not finish within" in tests["test_accuracy"]["output"]


def test_huge_allocation_runs_out_of_memory(graded_batch: Path) -> None:
    _, tests = score(graded_batch, "huge-allocation")
    lost_only(tests, {"test_cross_entropy_value", "test_cross_entropy_gradient"})
    assert "memory" in tests["test_cross_entropy_value"]["output"]


def test_forked_children_change_nothing_and_are_killed(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "forks")
    assert got == 8
    leftover = subprocess.run(["pgrep", "-f", MARKER], capture_output=True, text=True).stdout.strip()
    assert not leftover or not namespaces_available(), f"forked processes outlived the grading: {leftover}"
    assert not (REPO_ROOT / "results.json").exists()
    if namespaces_available():
        assert not Path("/tmp/results.json").exists(), "the worker's /tmp is not private"


def test_fake_results_and_printed_passes_change_nothing(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "fake-results")
    lost_only(tests, {"test_accuracy"})
    assert got == 7


def test_hidden_graders_cannot_be_read(graded_batch: Path) -> None:
    if not namespaces_available():
        pytest.skip("hiding the graders needs root with unshare/setpriv (CI and Gradescope have them)")
    _, tests = score(graded_batch, "reads-graders")
    lost_only(tests, SOFTMAX_TESTS)
    output = tests["test_softmax_values"]["output"]
    assert "No such file or directory" in output or "Permission denied" in output, output


def test_syntax_error_names_the_cell_and_line(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "syntax-error")
    lost_only(tests, SOFTMAX_TESTS)
    message = tests["test_softmax_values"]["output"]
    assert "`softmax`" in message and "syntax error at line 1" in message


@pytest.mark.parametrize("student, words", [("truncated", "not valid JSON"), ("not-json", "not valid JSON")])
def test_broken_files_get_zero_and_a_message(graded_batch: Path, student: str, words: str) -> None:
    result = results(graded_batch, student)
    assert result["score"] == 0 and words in result["output"]
    feedback = (graded_batch / "feedback" / f"{student}.md").read_text()
    assert words in feedback


def test_old_nbformat_is_converted_and_graded(graded_batch: Path) -> None:
    result = results(graded_batch, "nbformat3")
    assert result["score"] == 8, result
    assert "format 3" in result["output"]


def test_duplicated_cell_last_one_wins(graded_batch: Path) -> None:
    result = results(graded_batch, "duplicated-cell")
    assert result["score"] == 8 and "appears 2 times" in result["output"]


def test_deleted_cell_loses_only_its_tests(graded_batch: Path) -> None:
    got, tests = score(graded_batch, "deleted-cell")
    lost_only(tests, {"test_cross_entropy_value", "test_cross_entropy_gradient"})
    assert "missing from your notebook" in tests["test_cross_entropy_value"]["output"]


def test_lost_metadata_falls_back_to_names(graded_batch: Path) -> None:
    result = results(graded_batch, "lost-metadata")
    assert result["score"] == 8 and "metadata was lost" in result["output"]


def test_reports_never_show_hidden_test_source(graded_batch: Path) -> None:
    source = HIDDEN_TEST.read_text()
    secrets = ["reference_softmax", "RNG = np.random.default_rng(1234)", "LOGITS.astype"]
    assert all(s in source for s in secrets)
    for path in list((graded_batch / "feedback").iterdir()) + list((graded_batch / "gradescope").iterdir()):
        text = path.read_text()
        assert not any(s in text for s in secrets), f"{path.name} shows hidden test code"


def test_instructor_log_starts_with_what_the_isolation_guarantees(graded_batch: Path) -> None:
    """``grade`` writes ``Grader.describe_isolation()`` (the mode it probed) at the top of the log."""
    first = (graded_batch / "instructor.log").read_text().splitlines()[0]
    assert first in (describe_isolation("namespaces"), describe_isolation("process")), first


def test_grades_csv_has_a_column_per_test(graded_batch: Path) -> None:
    lines = (graded_batch / "grades.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "student" and header[-3:] == ["total", "max", "grader_errors"]
    assert "test_softmax_values" in header and len(lines) == 1 + 2 + len(HOSTILE) + 6


def test_same_submission_same_score_twice(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    hostile_notebook("half", {"softmax": "import torch\ndef softmax(logits):\n    return torch.softmax(logits * 1.01, -1)\n"}, folder)
    first, second = tmp_path / "a", tmp_path / "b"
    grade_cli(HW, [folder], first, jobs=1)
    grade_cli(HW, [folder], second, jobs=1)
    a, b = results(first, "half"), results(second, "half")
    assert [t["score"] for t in a["tests"]] == [t["score"] for t in b["tests"]]


def test_first_failure_stops_after_the_first_failing_test_and_graders_are_reusable(tmp_path: Path) -> None:
    """``Grader.grade(..., first_failure=True)`` (mutation testing's mode) grades in collection order
    up to the first test that fails and leaves the rest out; a second grading by the same grader
    starts clean (no results of the first are read again)."""
    from metakit.grading.runner import Grader, Submission

    wrong_ce = hostile_notebook("wrong-ce", {"cross_entropy": """
import torch
def cross_entropy(logits, labels):
    return torch.zeros(())
"""}, tmp_path)
    grader = Grader(HW)
    try:
        assert grader.mode in ("namespaces", "process")
        assert grader.describe_isolation() == describe_isolation(grader.mode)
        assert grader.describe_isolation().startswith(f"isolation: {grader.mode} - ")
        stopped = grader.grade(Submission("wrong-ce", wrong_ce), first_failure=True)
        names = [t.name for t in stopped.tests]
        assert names == ["test_softmax_values", "test_softmax_large_logits", "test_softmax_last_axis",
                         "test_cross_entropy_value"], names
        assert [t.passed for t in stopped.tests] == [True, True, True, False]
        whole = grader.grade(Submission("wrong-ce", wrong_ce))
        assert len(whole.tests) == 6 and [t.passed for t in whole.tests] == [True, True, True, False, False, True]
        again = grader.grade(Submission("correct", REFERENCE), only=["test_cross_entropy_value"])
        assert [t.passed for t in again.tests] == [True]
        # With first_failure, the tests run in the order `only` gives (the validity tool puts the
        # mutated function's tests first); without it, in collection order.
        order = ["test_cross_entropy_value", "test_softmax_values", "test_softmax_last_axis"]
        first = grader.grade(Submission("wrong-ce", wrong_ce), only=order, first_failure=True)
        assert [(t.name, t.passed) for t in first.tests] == [("test_cross_entropy_value", False)]
        every = grader.grade(Submission("wrong-ce", wrong_ce), only=order[::-1], first_failure=True)
        assert [t.name for t in every.tests] == order[::-1][:3] and not every.tests[-1].passed
        plain = grader.grade(Submission("wrong-ce", wrong_ce), only=order)
        assert [t.name for t in plain.tests] == ["test_softmax_values", "test_softmax_last_axis",
                                                     "test_cross_entropy_value"]
    finally:
        grader.close()
