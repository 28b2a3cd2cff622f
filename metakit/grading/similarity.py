"""Which submissions of one assignment look copied from each other: a report, never a score.

Each notebook is turned into the code the grader keeps of it (:func:`~metakit.grading.intake.intake`:
definitions only), and the given cells (the instructor's, identical for everyone) are left out: what
remains is the student's own code, the solution cells and any cells they added. Pairs are compared
with copydetect (the winnowing fingerprints of MOSS, on pygments tokens with names, strings and
numbers normalised, so renaming variables does not hide a copy), the released notebook's code being
its boilerplate: what the starter code already has is never counted as overlap.

copydetect is an instructor extra (``pip install 'metakit[instructor]'``); without it the report
stops with a message saying so.
"""
from __future__ import annotations

import csv
import html
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from metakit.grading.intake import NotebookError, cell_source, intake, read_notebook, template_cells, to_python
from metakit.grading.runner import Submission

NOISE_CHARS = 25  # copydetect's default: shorter matches (of normalised code) are noise
# Every k-gram is kept (winnowing window 1, copydetect's guarantee threshold = noise threshold): which
# hashes a wider window keeps depends on Python's hash(), salted per process, and the report would
# change from run to run. Notebooks are small, so keeping them all costs little.
WINDOW = 1
MARKS = ("<mark class='a'>", "<mark class='b'>", "</mark>")


class MissingCopydetect(RuntimeError):
    """copydetect is not installed."""


@dataclass
class StudentCode:
    """A student's own code as the grader keeps it (empty with ``problem`` when unreadable)."""

    student: str
    code: str
    problem: str | None = None


@dataclass
class Pair:
    """Two students: the fraction of each one's code found in the other's, and the shared tokens."""

    a: str
    b: str
    similarity_a: float
    similarity_b: float
    overlap_tokens: int
    highlighted_a: str = ""  # HTML of a's code with the overlap marked
    highlighted_b: str = ""

    @property
    def similarity(self) -> float:
        return max(self.similarity_a, self.similarity_b)


def _copydetect():
    try:
        from copydetect import CodeFingerprint, compare_files
        from copydetect.utils import highlight_overlap
    except ImportError:
        raise MissingCopydetect("the similarity report needs copydetect: pip install 'metakit[instructor]' "
                                "(or pip install copydetect)") from None
    return CodeFingerprint, compare_files, highlight_overlap


# --------------------------------------------------------------------------- notebooks to code
def starter_code(template: dict, template_path: Path) -> str:
    """The boilerplate: every code cell of the release (given code, stubs, checks), then the release
    as the grader keeps it of a submission (so that no seam between kept cells counts either)."""
    cells = [to_python(cell_source(c)) for c in template["cells"] if c.get("cell_type") == "code"]
    return "\n\n".join([*cells, own_code(template, Submission("starter", template_path)).code])


def own_code(template: dict, submission: Submission) -> StudentCode:
    """The cells of ``submission`` the grader keeps, less the given (and check) cells."""
    if submission.notebook is None:
        return StudentCode(submission.student, "", submission.problem or "no notebook")
    result = intake(template, submission.notebook)
    if result.fatal:
        return StudentCode(submission.student, "", result.fatal)
    not_theirs = {gid for gid, cell in template_cells(template).items() if cell.kind != "solution"}
    cells = [c["code"] for c in result.cells if c["label"] not in not_theirs]
    return StudentCode(submission.student, "\n\n".join(cells))


# --------------------------------------------------------------------------- comparing
def compare(codes: list[StudentCode], starter: str, noise: int = NOISE_CHARS) -> list[Pair]:
    """Every pair of readable submissions, most similar first (ties: more shared tokens, then names)."""
    CodeFingerprint, compare_files, highlight_overlap = _copydetect()
    if noise < 1:
        raise ValueError(f"the noise threshold must be at least 1 character; got {noise}")
    boilerplate = CodeFingerprint("starter.py", noise, 1, language="python", fp=io.StringIO(starter)).hashes
    prints = {c.student: CodeFingerprint(f"{c.student}.py", noise, WINDOW, boilerplate=list(boilerplate),
                                         language="python", fp=io.StringIO(c.code))
              for c in codes if c.problem is None}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        overlap, (sim_a, sim_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        pair = Pair(a, b, float(sim_a), float(sim_b), int(overlap))
        if overlap:
            pair.highlighted_a = highlight_overlap(prints[a].raw_code, slices_a, MARKS[0], MARKS[2], escape_html=True)[0]
            pair.highlighted_b = highlight_overlap(prints[b].raw_code, slices_b, MARKS[1], MARKS[2], escape_html=True)[0]
        pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.similarity, -p.overlap_tokens, p.a, p.b))


def similarity_report(hw: str, template_path: Path, submissions: list[Submission], out: Path,
                      top: int = 50, noise: int = NOISE_CHARS) -> list[Pair]:
    """Compare ``submissions`` against each other, the release at ``template_path`` being the
    starter code, and write ``out/similarity.html`` (the ``top`` pairs with their overlaps
    highlighted) and ``out/pairs.csv`` (every pair)."""
    template = read_template(template_path)
    codes = [own_code(template, s) for s in submissions]
    pairs = compare(codes, starter_code(template, template_path), noise)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "pairs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rank", "student_a", "student_b", "similarity", "similarity_a", "similarity_b", "overlap_tokens"])
        for rank, p in enumerate(pairs, start=1):
            writer.writerow([rank, p.a, p.b, f"{p.similarity:.3f}", f"{p.similarity_a:.3f}", f"{p.similarity_b:.3f}",
                             p.overlap_tokens])
    (out / "similarity.html").write_text(render_html(hw, pairs[:top], [c for c in codes if c.problem], len(pairs)))
    return pairs


# --------------------------------------------------------------------------- the page
STYLE = ("body{font-family:sans-serif;max-width:90em;margin:2em auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.2em .6em}.code{display:flex;gap:1em}"
         ".code pre{flex:1;background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:85%}"
         "mark.a{background:#fbb}mark.b{background:#bfb}")


def render_html(hw: str, pairs: list[Pair], unreadable: list[StudentCode], total_pairs: int) -> str:
    """The ranked table and, for each pair with an overlap, both students' code side by side."""
    rows = "".join(
        f"<tr><td>{i}</td><td>{html.escape(p.a)}</td><td>{html.escape(p.b)}</td><td>{p.similarity:.0%}</td>"
        f"<td>{p.similarity_a:.0%} / {p.similarity_b:.0%}</td><td>{p.overlap_tokens}</td>"
        f"<td>{f'<a href=#pair{i}>overlap</a>' if p.overlap_tokens else ''}</td></tr>"
        for i, p in enumerate(pairs, start=1))
    details = "".join(
        f"<h2 id=pair{i}>{i}. {html.escape(p.a)} and {html.escape(p.b)}: {p.similarity:.0%}</h2><div class=code>"
        f"<pre>{p.highlighted_a}</pre><pre>{p.highlighted_b}</pre></div>"
        for i, p in enumerate(pairs, start=1) if p.overlap_tokens)
    skipped = "".join(f"<li>{html.escape(c.student)}: {html.escape(c.problem or '')}</li>" for c in unreadable)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(hw)} similarity</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(hw)}: similarity of the students' own code</h1>"
            f"<p>Starter code removed; names normalised (copydetect). Similarity of a pair: the larger of the two "
            f"fractions of one student's code found in the other's. A lead to look at, not a verdict: scores are "
            f"unchanged. Top {len(pairs)} of {total_pairs} pairs (all in pairs.csv).</p>"
            f"<table><tr><th>rank</th><th>student A</th><th>student B</th><th>similarity</th><th>A / B</th>"
            f"<th>shared tokens</th><th></th></tr>{rows}</table>"
            + (f"<h2>Not compared</h2><ul>{skipped}</ul>" if skipped else "") + details + "</body></html>\n")


def read_template(path: Path) -> dict:
    """The released notebook; a ValueError naming it when it cannot be read."""
    try:
        return read_notebook(path)
    except NotebookError as exc:
        raise ValueError(f"{path}: {exc}") from None
