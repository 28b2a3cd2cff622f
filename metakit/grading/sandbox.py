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
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from metakit.grading import jail, wire
from metakit.grading.children import ForkedChild, FreshChild, Zygote
from metakit.grading.errors import GraderError, StudentCrash, StudentError, StudentTimeout, WorkerProtocolError
from metakit.grading.launch import (MIN_MEMORY_MB, MODES, OUTPUT_TAIL_BYTES, STARTUP_S, Limits, SandboxConfig,
                                    _set_limits, baseline_mb, bootstrap, check_memory_limit, jails_as_root,
                                    launch_command, worker_environment)

UNPRIVILEGED_UID = jail.UNPRIVILEGED_UID


class WorkerProcess:
    """One fresh interpreter that loaded a submission's cells; send requests with :meth:`request`."""

    def __init__(self, cells: list[dict], limits: Limits, config: SandboxConfig, seed: int,
                 mode: str, zygote: "Zygote | None" = None) -> None:
        if mode not in MODES:
            raise ValueError(f"isolation must be one of {MODES}, not {mode!r}")
        self.limits, self.config, self.seed, self.mode = limits, config, seed, mode
        self.zygote = zygote
        self.deadline = time.monotonic() + STARTUP_S
        self.dir = Path(tempfile.mkdtemp(prefix="metakit-worker-"))
        os.chmod(self.dir, 0o700)
        self.proc: subprocess.Popen | None = None
        self.hello: dict = {}
        self.ready: dict = {}
        self._start(cells)

    # ------------------------------------------------------------------ start / stop
    def _command(self, rfd: int, wfd: int) -> list[str]:
        code = bootstrap("from metakit.grading.worker import main\nmain()")
        python = [sys.executable, "-I", "-c", code, "--rfd", str(rfd), "--wfd", str(wfd), "--seed", str(self.seed)]
        return launch_command(python, self.mode, self.config, self.dir, self.limits.tmp_mb)

    def _environment(self) -> dict[str, str]:
        return worker_environment(self.mode, self.limits.threads, self.dir, self.config.env)

    def _start(self, cells: list[dict]) -> None:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.output_path = self.dir / "output.log"
        output = open(self.output_path, "wb")
        try:
            self.proc = self._launch(to_worker_r, from_worker_w, output)
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
            output.close()
        self._writer = os.fdopen(to_worker_w, "wb")
        self._frames = wire.FrameReader(from_worker_r, limit=wire.ReplyLimits().frame_bytes)
        self.ready = self._receive_ready()
        self.deadline = time.monotonic() + self.limits.wall_s
        self.hello = self.request({"op": "load", "cells": cells}, "loading your notebook's code")

    def _launch(self, rfd: int, wfd: int, output) -> "FreshChild | ForkedChild":
        """The worker: forked by the zygote when there is a working one, else a fresh process."""
        check_memory_limit(self.limits)
        if self.zygote is not None and self.zygote.alive:
            try:
                return ForkedChild(self.zygote, self.zygote.spawn(self.limits, self.seed, [rfd, wfd, output.fileno()]))
            except GraderError as exc:
                print(f"metakit: the zygote failed ({exc}); starting fresh workers", file=sys.stderr)
                self.zygote.close()
        try:
            return FreshChild(subprocess.Popen(
                self._command(rfd, wfd),
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                cwd=self.dir, env=self._environment(),
                pass_fds=(rfd, wfd), start_new_session=True,
                preexec_fn=functools.partial(_set_limits, self.limits, baseline_mb()),
            ))
        except OSError as exc:
            raise GraderError(f"could not start a worker ({self.mode} isolation): {exc}") from None

    def _receive_ready(self) -> dict:
        """The worker's first frame, sent before any student code exists in it."""
        try:
            ready = self._receive("starting the worker")
        except (StudentCrash, StudentTimeout, WorkerProtocolError, StudentError) as exc:
            tail = getattr(exc, "output_tail", "") or self.output_tail()
            self.close()
            raise GraderError(f"the worker could not start ({self.mode} isolation): {exc}", output_tail=tail) from None
        if not isinstance(ready, dict) or ready.get("stage") != "ready":
            self.close()
            raise GraderError(f"the worker sent {ready!r} instead of its ready message")
        return ready

    def close(self) -> None:
        """Kill the worker and everything it started; delete its folder."""
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        for closer in (lambda: self._writer.close(), lambda: os.close(self._frames.fd)):
            try:
                closer()
            except (OSError, AttributeError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def output_tail(self) -> str:
        try:
            with open(self.output_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.output_path) - OUTPUT_TAIL_BYTES))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ requests
    def request(self, message: dict, doing: str) -> Any:
        try:
            wire.write_frame(self._writer, wire.encode_message(message))
        except (BrokenPipeError, OSError, ValueError):
            raise self._crash(doing) from None
        return self._receive(doing)

    def _receive(self, doing: str) -> Any:
        data = self._read_frame(doing)
        try:
            reply = wire.decode_message(data, limits=wire.ReplyLimits())
        except wire.WireError as exc:
            self.close()
            raise WorkerProtocolError(f"while {doing}, your code's process sent a reply that was refused: {exc}") from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise WorkerProtocolError(f"while {doing}, your code's process sent an unexpected reply")
        if not reply["ok"]:
            raise StudentError.from_worker(reply.get("error") or {}, doing)
        return reply.get("value")

    def _read_frame(self, doing: str) -> bytes:
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(doing)
            ready, _, _ = select.select([self._frames.fd], [], [], min(remaining, 1.0))
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise self._crash(doing)
                continue
            try:
                if self._frames.feed():
                    return self._frames.take()
            except EOFError:
                raise self._crash(doing) from None
            except wire.WireError as exc:
                self.close()
                raise WorkerProtocolError(f"while {doing}, your code's process sent a reply that was refused: {exc}") from None

    def _timeout(self, doing: str) -> StudentTimeout:
        limit = STARTUP_S if not self.hello and not self.ready else self.limits.wall_s
        self.close()
        return StudentTimeout(
            f"your code did not finish within the {limit:g} s this test allows "
            f"(while {doing}). Look for an infinite loop, or for work that is much slower than it "
            f"needs to be."
        )

    def _crash(self, doing: str) -> StudentCrash:
        code = None
        if self.proc is not None:
            code = self.proc.wait(timeout=5)
        tail = self.output_tail()
        self.close()
        return StudentCrash(explain_exit(code, doing, self.limits), output_tail=tail)
def explain_exit(code: int | None, doing: str, limits: Limits) -> str:
    """A sentence for the student about why their process ended."""
    start = f"your code's process ended while {doing}"
    if code is None:
        return f"{start} and stopped answering."
    reasons = {
        -signal.SIGXCPU: f"it used more than {limits.cpu_s} s of CPU time",
        -signal.SIGXFSZ: f"it printed or wrote more than {limits.output_mb} MB",
        -signal.SIGKILL: "it was killed (most often: it ran out of memory, "
        f"limit {limits.memory_mb} MB)",
        -signal.SIGSEGV: "it crashed (segmentation fault)",
        -signal.SIGABRT: f"it aborted (often: out of memory, limit {limits.memory_mb} MB)",
    }
    if code in reasons:
        return f"{start}: {reasons[code]}."
    if code < 0:
        return f"{start}: killed by signal {-code}."
    return (f"{start}: it exited with status {code} (does your code call sys.exit(), os._exit() "
            f"or quit()?).")

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
