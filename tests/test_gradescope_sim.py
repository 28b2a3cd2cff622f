"""Every assignment's Gradescope zip, proven in a simulated Gradescope container.

For each assignment: build the zip with the CLI, unpack it into ``autograder/source``, run its own
``setup.sh`` into a fresh venv (offline: ``METAKIT_SKIP_APT=1``, and pip finds torch and the other
libraries through a ``.pth`` pointing at this interpreter's site-packages, so only the kit itself is
installed, from the zip), then run ``run_autograder`` with the reference and with the untouched
release as the submission, under the container the assignment declares (``autograder/<hw>/assignment.toml``; Gradescope's
default otherwise): its memory for the whole process tree (a cgroup, where this machine allows one),
its CPUs (``taskset``) and 10 minutes. The reference must
get full marks, the release zero, ``results.json`` must be valid, and the peak memory (sum of the
tree's proportional set sizes, sampled) must stay within the declared memory. Figures go to ``$METAKIT_SIM_REPORT``
when set (one JSON line per run) and to the test's output.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from metakit.paths import REPO_ROOT

pytestmark = pytest.mark.slow

ASSIGNMENTS = ["hw_example", "hw0", "hw1", "hw2", "hw3"]
MEMORY_MB = 768
CGROUP_V1 = Path("/sys/fs/cgroup/memory")


def peak_tree_memory(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """Sample the summed PSS (MB) of ``pid`` and its descendants until ``stop``; keep the peak."""
    import psutil

    while not stop.is_set():
        try:
            root = psutil.Process(pid)
            total = 0.0
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss / 2**20
                except (psutil.Error, AttributeError):
                    pass
            peak[0] = max(peak[0], total)
        except psutil.Error:
            pass
        stop.wait(0.3)


def container_limits(hw: str) -> dict:
    """The container ``autograder/<hw>/assignment.toml`` declares (Gradescope's defaults otherwise)."""
    from metakit.grading.assignment import load_config
    from metakit.grading.gradescope import container_settings

    return container_settings(load_config(hw, REPO_ROOT))


def memory_cgroup(memory_mb: int = MEMORY_MB) -> Path | None:
    """A fresh cgroup v1 memory group limited to ``memory_mb``, or None where none can be made."""
    if os.geteuid() != 0 or not CGROUP_V1.is_dir():
        return None
    group = CGROUP_V1 / f"metakit-gradescope-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
        return group
    except OSError:
        return None


@pytest.fixture(scope="module")
def gradescope_venv(tmp_path_factory) -> Path:
    """One venv made by an autograder's own setup.sh (hw3's, which installs the [lm] extra)."""
    source = tmp_path_factory.mktemp("setup") / "source"
    zip_path = source.parent / "hw3.zip"
    subprocess.run([sys.executable, "-m", "metakit", "gradescope", "hw3", "--out", str(zip_path)], check=True,
                   cwd=REPO_ROOT, capture_output=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
    venv = source.parent / "venv"
    # No pip of its own: pip and setuptools come from this interpreter's site-packages, like torch.
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # A view of this interpreter's site-packages without the kit itself, so pip installs the kit from
    # the zip (and never touches this venv's own install).
    view = source.parent / "parent-site"
    view.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("metakit", "__editable__", "_metakit")):
            (view / entry.name).symlink_to(entry)
    (site / "metakit_parent_site.pth").write_text(f"{view}\n")
    env = {**os.environ, "METAKIT_SKIP_APT": "1", "METAKIT_VENV": str(venv), "METAKIT_PYTHON_BIN": sys._base_executable,
           "METAKIT_PIP_ARGS": "--no-deps --no-build-isolation --no-index --quiet"}
    run = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "metakit ready" in run.stdout
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import metakit; print(metakit.__file__)"],
                               capture_output=True, text=True, check=True, cwd=source.parent).stdout
    assert str(venv) in installed, f"the kit was not installed into the autograder's venv: {installed}"
    return venv


def run_in_container(root: Path, venv: Path, cpu: int, limits: dict) -> dict:
    """``run_autograder`` under the container's memory, CPUs and 10 minutes; results and figures."""
    group = memory_cgroup(limits["memory_mb"])
    enter = f"echo $$ > {group / 'cgroup.procs'}; " if group else ""
    cpus = ",".join(str((cpu + i) % max(1, os.cpu_count() or 1)) for i in range(limits["cpus"]))
    command = ["sh", "-c", f"{enter}exec taskset -c {cpus} timeout {limits['timeout_s']} bash {root / 'source' / 'run_autograder'}"]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "METAKIT_GRADESCOPE_ROOT": str(root),
           "METAKIT_VENV": str(venv), "HOME": str(root / "home")}
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop, peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=peak_tree_memory, args=(proc.pid, stop, peak), daemon=True)
    sampler.start()
    output, _ = proc.communicate(timeout=limits["timeout_s"] + 60)
    stop.set()
    sampler.join()
    figures = {"wall_s": round(time.monotonic() - started, 1), "peak_pss_mb": round(peak[0]), "exit": proc.returncode,
               "cgroup": bool(group)}
    if group:
        figures["oom_kills"] = int((group / "memory.failcnt").read_text())
        group.rmdir()
    results = root / "results" / "results.json"
    figures["results"] = json.loads(results.read_text()) if results.exists() else None
    figures["output"] = output[-3000:]
    return figures


def simulated(hw: str, submission: Path, venv: Path, work: Path, cpu: int, limits: dict) -> dict:
    zip_path = work / f"{hw}.zip"
    if not zip_path.exists():
        subprocess.run([sys.executable, "-m", "metakit", "gradescope", hw, "--out", str(zip_path)], check=True,
                       cwd=REPO_ROOT, capture_output=True)
    root = work / f"autograder-{submission.parent.name}"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    (root / "home").mkdir()
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert not any(n.startswith("kit/solutions") for n in names), "solutions must not ship"
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    shutil.copy(submission, root / "submission" / submission.name)
    return run_in_container(root, venv, cpu, limits)


def report(hw: str, who: str, figures: dict) -> None:
    line = {"hw": hw, "submission": who, **{k: v for k, v in figures.items() if k not in ("results", "output")}}
    if figures.get("results"):
        line["score"] = f"{figures['results']['score']:g}/{figures['results']['max_score']:g}"
    print(json.dumps(line))
    target = os.environ.get("METAKIT_SIM_REPORT")
    if target:
        with open(target, "a") as f:
            f.write(json.dumps(line) + "\n")


def _cases():
    """Every assignment, reference and release: in CI's slow suite (``make test-slow``), and alone with
    ``make test-containers`` (marker ``container``) before a zip is uploaded or when graders or limits
    change. On an idle 2-core machine the ten runs took 2.8 min (2026-12-07; hw3's reference 69 s)."""
    for hw in ASSIGNMENTS:
        for who in ("reference", "release"):
            yield pytest.param(hw, who, id=f"{hw}-{who}", marks=[pytest.mark.container])


@pytest.mark.parametrize("hw, who", list(_cases()))
def test_gradescope_container(hw: str, who: str, gradescope_venv: Path, tmp_path: Path) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    cpu = int(worker[2:]) % max(1, os.cpu_count() or 1)
    limits = container_limits(hw)
    folder = {"reference": "solutions", "release": "assignments"}[who]
    submission_dir = tmp_path / who
    submission_dir.mkdir()
    submission = shutil.copy(REPO_ROOT / folder / hw / f"{hw}.ipynb", submission_dir / f"{hw}.ipynb")
    figures = simulated(hw, Path(submission), gradescope_venv, tmp_path, cpu, limits)
    report(hw, who, figures)
    result = figures["results"]
    assert result is not None, f"no results.json:\n{figures['output']}"
    assert {"score", "max_score", "tests"} <= set(result) and result["tests"], "results.json is not Gradescope's"
    assert figures["wall_s"] < limits["timeout_s"], f"{hw} {who}: over the container's {limits['timeout_s']} s"
    expected = result["max_score"] if who == "reference" else 0
    failed = [f"{t['name']}: {t['output'][:300]}" for t in result["tests"] if t["status"] != "passed"]
    assert result["score"] == expected, f"{hw} {who}: {result['score']} / {result['max_score']}\n" + "\n".join(failed[:8])
    assert not any("grader error" in t.get("tags", []) for t in result["tests"]), "\n".join(failed[:8])
    assert figures["peak_pss_mb"] <= limits["memory_mb"], \
        f"{hw} {who}: peak {figures['peak_pss_mb']} MB over {limits['memory_mb']} MB"
