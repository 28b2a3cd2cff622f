"""The similarity report (metakit.grading.similarity): a copy with renamed variables ranks first, the
starter code alone overlaps with nothing, the same batch gives the same report in every process,
and without copydetect a clear message. hw_example notebooks written here; nothing is graded."""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Callable

import pytest

from metakit.__main__ import main
from metakit.grading.runner import find_submissions
from metakit.grading.similarity import similarity_report
from metakit.paths import REPO_ROOT

RELEASE = REPO_ROOT / "assignments" / "hw_example" / "hw_example.ipynb"


def renamed(source: str) -> str:
    """The reference with its local variables renamed."""
    for old, new in (("shifted", "centred"), ("exp =", "e_x ="), ("exp / exp", "e_x / e_x"), ("log_probs", "lp")):
        source = source.replace(old, new)
    return source


def own_body(body: str) -> Callable[[str], str]:
    """A cell whose solution region is replaced by ``body``."""
    return lambda source: source.split("### BEGIN")[0].rstrip() + "\n" + body


CAROL = {  # the same functions written another way
    "softmax": own_body("    return torch.softmax(logits, dim=-1)\n"),
    "cross_entropy": own_body("    n = labels.shape[0]\n    total = 0.0\n    for i in range(n):\n        row = logits[i]\n"
                              "        total = total + torch.logsumexp(row, 0) - row[labels[i]]\n    return total / n\n"),
    "accuracy": own_body("    hits = 0\n    for p, y in zip(logits.argmax(1).tolist(), labels.tolist()):\n"
                         "        hits += int(p == y)\n    return hits / len(labels)\n"),
}


def write_notebook(path: Path, edits: dict[str, Callable[[str], str]]) -> None:
    notebook = json.loads((REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb").read_text())
    for cell in notebook["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in edits:
            cell["source"] = edits[gid]("".join(cell["source"]))
    path.write_text(json.dumps(notebook))


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """alice: the reference; bob: alice's with renamed variables; carol: her own; dave: the release;
    erin: a damaged file."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    write_notebook(folder / "alice.ipynb", {})
    write_notebook(folder / "bob.ipynb", {gid: renamed for gid in ("softmax", "cross_entropy", "accuracy")})
    write_notebook(folder / "carol.ipynb", CAROL)
    (folder / "dave.ipynb").write_text(RELEASE.read_text())
    (folder / "erin.ipynb").write_text('{"cells": [')
    return folder


def test_renamed_copy_ranks_first_and_starter_code_overlaps_nothing(batch: Path, tmp_path: Path) -> None:
    pairs = similarity_report("hw_example", RELEASE, find_submissions([batch], "hw_example"), tmp_path / "out")
    assert (pairs[0].a, pairs[0].b) == ("alice", "bob") and pairs[0].similarity > 0.9
    assert all(p.similarity < 0.5 for p in pairs[1:])
    with_dave = [p for p in pairs if "dave" in (p.a, p.b)]
    assert len(with_dave) == 3 and all(p.similarity == 0 and p.overlap_tokens == 0 for p in with_dave)
    assert not any("erin" in (p.a, p.b) for p in pairs)
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "<mark class='a'>" in page and "centred" in page and "erin: erin.ipynb is not valid JSON" in page
    rows = list(csv.DictReader((tmp_path / "out" / "pairs.csv").open()))
    assert (rows[0]["student_a"], rows[0]["student_b"], rows[0]["rank"]) == ("alice", "bob", "1") and len(rows) == 6


def test_cli_writes_only_the_report(batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["similarity", "hw_example", str(batch), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "alice / bob" in printed[1] and "no score was changed" in printed[-1]
    assert sorted(p.name for p in out.iterdir()) == ["pairs.csv", "similarity.html"]


def test_same_report_whatever_the_string_hash(batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """copydetect hashes k-grams with Python's hash(), salted per process: the ranking must not depend on it."""
    import copydetect.utils

    reports = []
    for salt in ("one", "two"):
        monkeypatch.setattr(copydetect.utils, "hash", lambda text, salt=salt: builtins_hash((salt, text)), raising=False)
        similarity_report("hw_example", RELEASE, find_submissions([batch], "hw_example"), tmp_path / salt)
        reports.append((tmp_path / salt / "pairs.csv").read_text())
    assert reports[0] == reports[1]


builtins_hash = hash


def test_without_copydetect_a_clear_message(batch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "copydetect", None)  # import copydetect raises ImportError
    assert main(["similarity", "hw_example", str(batch), "--out", str(tmp_path / "out")]) == 2
    assert "needs copydetect: pip install 'metakit[instructor]'" in capsys.readouterr().err
