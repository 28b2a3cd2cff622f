"""The isolation probe: which isolation mode works on this machine, and what each one guarantees.

:func:`probe` starts one real worker the way graders do (forked by a zygote when the run forks
its workers) and checks a known answer and what the worker can see; :func:`choose_isolation` takes
the requested mode, or for ``auto`` the strongest whose probe passes (the modes are described in
:mod:`metakit.grading.sandbox`); :func:`describe_isolation` says in one line what a mode guarantees.
"""
from __future__ import annotations

import functools
import sys

import numpy as np

from metakit.grading import jail
from metakit.grading.children import ForkedChild, Zygote
from metakit.grading.errors import GraderError
from metakit.grading.launch import MODES, Limits, SandboxConfig
from metakit.grading.process import WorkerProcess

UNPRIVILEGED_UID = jail.UNPRIVILEGED_UID

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
