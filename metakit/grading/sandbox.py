"""Grader side of a student worker: start it with limits, send requests, read plain data back.

Isolation, strongest first (``auto`` takes the first one whose probe passes):

* ``namespaces`` (Linux with util-linux; as root - CI, Gradescope, a course server - or as any user
  where the kernel allows unprivileged user namespaces): the worker runs
  as ``nobody`` in new mount, pid, network, IPC and UTS namespaces, on a root that holds only an
  allow-list of read-only folders (the interpreter, its site-packages, the kit's package, declared
  data) and private ``/tmp``, ``/var/tmp``, ``/dev/shm`` and ``/proc`` (see :mod:`jail`). It cannot
  see the kit's checkout, the graders, the solutions, other submissions, other workers or the
  network, and nothing it writes outlives it.
* ``process`` (any other account: a laptop): a fresh interpreter in its own process group and its
  own private folder, with the same resource limits, killed as a group; it runs as the grading
  user and can read what that user can (see the README).

Limits in every mode: wall time (the grader kills the group), CPU time, address space, size of
every file written (its printed output goes to one such file), and number of processes.

Start-up: the worker reports ``ready`` before any student code is loaded, then receives the cells
over the pipe (nothing of the submission is on disk where a worker could look). A worker that
dies or hangs before ``ready`` is a :class:`GraderError` (interpreter or library missing, sandbox
set-up refused), never the student's fault.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np

from metakit.grading import jail
from metakit.grading.children import ForkedChild, FreshChild, Zygote
from metakit.grading.errors import GraderError
from metakit.grading.launch import (MIN_MEMORY_MB, MODES, OUTPUT_TAIL_BYTES, STARTUP_S, Limits, SandboxConfig,
                                    baseline_mb, bootstrap, check_memory_limit, jails_as_root,
                                    launch_command, worker_environment)
from metakit.grading.process import WorkerProcess, explain_exit

UNPRIVILEGED_UID = jail.UNPRIVILEGED_UID


# ---------------------------------------------------------------------- the probe
PROBE_CELLS = [{"label": "probe", "code": (
    "import os\n"
    "import torch\n\n"
    "def metakit_probe_softmax(values):\n"
    "    return torch.softmax(torch.as_tensor(values, dtype=torch.float64), dim=0)\n\n"
    "def metakit_probe_sees(paths):\n"
    "    return {'uid': os.getuid(), 'visible': [p for p in paths if os.path.exists(p)],\n"
    "            'processes': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) if os.path.isdir('/proc') else []}\n"
)}]
PROBE_VALUES = [0.5, -1.0, 2.0, 0.0]


def probe(config: SandboxConfig, mode: str) -> str | None:
    """Start one real worker the way graders do, in ``mode``, and check a known answer and what
    it can see. None when all is well, else why the mode cannot be used here."""
    if mode == "namespaces":
        if not sys.platform.startswith("linux"):
            return "needs Linux"
        if jail.tools() is None:
            return f"needs util-linux's {', '.join(jail.TOOLS)}"
    zygote = None
    try:
        if config.workers == "fork":
            zygote = Zygote(config, mode)
        worker = WorkerProcess(PROBE_CELLS, Limits(wall_s=60, memory_mb=4096), config, seed=0, mode=mode, zygote=zygote)
        if zygote is not None and not isinstance(worker.proc, ForkedChild):
            worker.close()
            return "the zygote could not fork a worker"
    except GraderError as exc:
        if zygote is not None:
            zygote.close()
        return f"{exc} {exc.output_tail.strip()[-800:]}".strip()
    except Exception as exc:  # noqa: BLE001 - any failure means the mode does not work here
        if zygote is not None:
            zygote.close()
        return f"{type(exc).__name__}: {exc}"
    try:
        values = np.asarray(worker.request({"op": "call", "target": "metakit_probe_softmax",
                                            "args": [PROBE_VALUES], "kwargs": {}}, "the probe"), dtype=float)
        expected = np.exp(PROBE_VALUES) / np.exp(PROBE_VALUES).sum()
        if values.shape != expected.shape or not np.allclose(values, expected, atol=1e-12):
            return f"the probe's known answer came back wrong: {values!r}"
        if mode == "namespaces":
            seen = worker.request({"op": "call", "target": "metakit_probe_sees",
                                   "args": [[str(p) for p in config.hidden_paths]], "kwargs": {}}, "the probe")
            if seen.get("uid") != UNPRIVILEGED_UID:
                return f"the worker runs as uid {seen.get('uid')}, not as nobody"
            if seen.get("visible"):
                return f"the worker can see hidden paths: {seen['visible'][:3]}"
            if len(seen.get("processes", [])) > 4:
                return f"the worker sees {len(seen['processes'])} processes: /proc is not its own"
        return None
    except Exception as exc:  # noqa: BLE001
        return f"the probe failed: {type(exc).__name__}: {exc} {worker.output_tail()[-800:]}".strip()
    finally:
        worker.close()
        if zygote is not None:
            zygote.close()


def choose_isolation(config: SandboxConfig, report=None) -> str:
    """The isolation to grade with: the requested one, or for ``auto`` the strongest whose probe
    passes. Raises :class:`GraderError` (with every mode's reason) when none works, so a batch
    is stopped before any student is graded. ``report(text)`` hears why a stronger mode was refused."""
    order = list(MODES) if config.isolation == "auto" else [config.isolation]
    reasons = []
    for mode in order:
        problem = probe(config, mode)
        if problem is None:
            if reasons and report is not None:
                report("isolation: " + "; ".join(reasons))
            return mode
        reasons.append(f"{mode} isolation refused: {problem}")
    raise GraderError("no isolation mode works on this machine, so nothing was graded:\n  " + "\n  ".join(reasons))


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """True when workers can run in namespaces here (root, util-linux, and the probe passes)."""
    return probe(SandboxConfig(), "namespaces") is None


def describe_isolation(mode: str) -> str:
    """One line for the instructor: what this mode guarantees."""
    if mode == "namespaces":
        return ("isolation: namespaces - each test's worker runs as nobody in its own mount, pid, network, IPC "
                "and UTS namespaces, on a root of read-only allowed folders (interpreter, site-packages, the kit's "
                "package, declared data) with private /tmp and /proc; the checkout, graders, solutions, other "
                "submissions and reports do not exist for it")
    return ("isolation: process - each test's worker is a separate process in a private folder with time, memory, "
            "output and process limits; it runs as you and can read what you can (namespaces need Linux with "
            "util-linux, as root or with unprivileged user namespaces allowed)")


def worker_seed(text: str) -> int:
    """A stable seed from a test's name (``hash()`` is salted per process; this is not)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def read_cells(path: Path) -> list[dict]:
    """The intake's ``cells.json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
