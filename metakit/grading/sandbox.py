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

The grader's side is split by concept; this module re-exports each one's names, so
``from metakit.grading.sandbox import ...`` keeps working:

* :mod:`metakit.grading.launch`: :class:`Limits`, :class:`SandboxConfig`, the start-up code, the
  jailed launch command, the resource limits and the environment of a worker;
* :mod:`metakit.grading.process`: :class:`WorkerProcess` (one worker: start, requests, replies) and
  :func:`explain_exit`;
* :mod:`metakit.grading.children`: :class:`FreshChild` and :class:`ForkedChild` (a running worker),
  and :class:`Zygote`, the grader's handle on the fork server (whose own code, run in its process,
  is :mod:`metakit.grading.zygote`);
* :mod:`metakit.grading.isolation`: the probe, :func:`choose_isolation`, :func:`describe_isolation`;
* here: :func:`worker_seed` and :func:`read_cells`.
"""
from __future__ import annotations

import json
from pathlib import Path

from metakit.grading.children import ForkedChild, FreshChild, Zygote
from metakit.grading.isolation import (PROBE_CELLS, PROBE_VALUES, UNPRIVILEGED_UID, choose_isolation,
                                       describe_isolation, namespaces_available, probe)
from metakit.grading.launch import (MIN_MEMORY_MB, MODES, OUTPUT_TAIL_BYTES, STARTUP_S, Limits, SandboxConfig,
                                    baseline_mb, bootstrap, check_memory_limit, jails_as_root, launch_command,
                                    worker_environment)
from metakit.grading.process import WorkerProcess, explain_exit

__all__ = [
    "MIN_MEMORY_MB", "MODES", "OUTPUT_TAIL_BYTES", "PROBE_CELLS", "PROBE_VALUES", "STARTUP_S", "UNPRIVILEGED_UID",
    "ForkedChild", "FreshChild", "Limits", "SandboxConfig", "WorkerProcess", "Zygote",
    "baseline_mb", "bootstrap", "check_memory_limit", "choose_isolation", "describe_isolation", "explain_exit",
    "jails_as_root", "launch_command", "namespaces_available", "probe", "read_cells", "worker_environment",
    "worker_seed",
]


def worker_seed(text: str) -> int:
    """A stable seed from a test's name (``hash()`` is salted per process; this is not)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def read_cells(path: Path) -> list[dict]:
    """The intake's ``cells.json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
