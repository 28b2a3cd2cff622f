"""Grader side of a student worker: start it with limits, send requests, read plain data back.

Isolation, strongest first (chosen automatically):

* as root with ``unshare`` and ``setpriv`` (Linux, CI, Gradescope): the worker runs as an
  unprivileged user in new mount, network and pid namespaces. The hidden graders, the solutions,
  the grading outputs and any other path the grader names are covered by empty read-only tmpfs
  mounts, there is no network, and when the worker ends every process it forked ends with it.
* otherwise (a student's laptop, an instructor's account): a fresh interpreter in its own
  process group with the same resource limits, killed as a group.

Limits in every mode: wall time (the grader kills the group), CPU time, address space, size of
every file written (its printed output goes to one such file), and number of processes.
"""
from __future__ import annotations

import functools
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from metakit.grading import wire
from metakit.grading.errors import (
    MissingName,
    StudentCrash,
    StudentError,
    StudentTimeout,
    WorkerProtocolError,
)
from metakit.paths import PACKAGE_DIR

UNPRIVILEGED_UID = 65534  # nobody
OUTPUT_TAIL_BYTES = 4000
PRIVATE_TMP_MB = 256


@dataclass
class Limits:
    """Resource limits of one worker (one hidden test)."""

    wall_s: float = 30.0
    memory_mb: int = 3072
    output_mb: int = 16
    max_processes: int = 256
    threads: int = 1

    @property
    def cpu_s(self) -> int:
        return int(self.wall_s * max(1, self.threads) + 5)


@dataclass
class SandboxConfig:
    """What every worker of a grading run shares."""

    hidden_paths: list[Path] = field(default_factory=list)
    isolation: str = "auto"  # "auto", "namespaces", "process"


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """True when this process may start workers in their own namespaces as an unprivileged user."""
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    # The unprivileged user must be able to run this interpreter and import the kit and torch
    # (a checkout under a private home folder would not allow it: then process isolation is used).
    probe = ["unshare", "--mount", "--net", "--pid", "--fork", "--propagation", "private", "--",
             "setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}",
             "--clear-groups", "--", sys.executable, "-I", "-c", _bootstrap("import torch")]
    try:
        return subprocess.run(probe, capture_output=True, timeout=60, cwd="/").returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _bootstrap(then: str) -> str:
    """Worker start-up code. The kit's root goes on sys.path only when metakit is not installed,
    since that folder also holds autograder/."""
    return (
        "import sys\n"
        "try:\n    import metakit.grading.worker\n"
        f"except ImportError:\n    sys.path.append({str(PACKAGE_DIR.parent)!r})\n"
        f"{then}"
    )


def isolation_mode(config: SandboxConfig) -> str:
    if config.isolation == "auto":
        return "namespaces" if namespaces_available() else "process"
    return config.isolation


def _set_limits(limits: Limits) -> None:
    """Runs in the child between fork and exec."""
    mem = limits.memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 2))
    out = limits.output_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))


class WorkerProcess:
    """One fresh interpreter that loaded a submission; send requests with :meth:`request`."""

    def __init__(self, cells_path: Path, limits: Limits, config: SandboxConfig, seed: int) -> None:
        self.limits, self.config, self.seed = limits, config, seed
        self.deadline = time.monotonic() + limits.wall_s
        self.mode = isolation_mode(config)
        self.dir = Path(tempfile.mkdtemp(prefix="metakit-worker-"))
        shutil.copy(cells_path, self.dir / "cells.json")
        if self.mode == "namespaces":
            os.chown(self.dir, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
            os.chmod(self.dir / "cells.json", 0o644)
        self.proc: subprocess.Popen | None = None
        self.hello: dict = {}
        self._start()

    # ------------------------------------------------------------------ start / stop
    def _command(self, rfd: int, wfd: int) -> list[str]:
        bootstrap = _bootstrap("from metakit.grading.worker import main\nmain()")
        python = [sys.executable, "-I", "-c", bootstrap, "--cells", "cells.json",
                  "--rfd", str(rfd), "--wfd", str(wfd), "--seed", str(self.seed)]
        if self.mode != "namespaces":
            return python
        # Hidden paths get an empty read-only tmpfs; /tmp, /var/tmp and /dev/shm a private one, so
        # nothing written there reaches another worker. The worker's own folder stays its cwd.
        hide = [f"mount -t tmpfs -o ro,size=4k,mode=000 metakit-hidden {_sh(p)} 2>/dev/null;"
                for p in self.config.hidden_paths if Path(p).exists()]
        private = [f"mount -t tmpfs -o size={PRIVATE_TMP_MB}m,mode=1777 metakit-tmp {d} 2>/dev/null;"
                   for d in ("/tmp", "/var/tmp", "/dev/shm") if Path(d).is_dir()]
        mounts = " ".join(hide + private)
        drop = ["setpriv", f"--reuid={UNPRIVILEGED_UID}", f"--regid={UNPRIVILEGED_UID}",
                "--clear-groups", "--no-new-privs", "--"]
        inner = f"{mounts} exec " + " ".join(_sh(a) for a in drop + python)
        return ["unshare", "--mount", "--net", "--pid", "--fork", "--propagation", "private", "--",
                "/bin/sh", "-c", inner]

    def _environment(self) -> dict[str, str]:
        home = "/tmp" if self.mode == "namespaces" else str(self.dir)
        threads = str(self.limits.threads)
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "MPLCONFIGDIR": home,
            "MPLBACKEND": "Agg",
            "METAKIT_CACHE": os.path.join(home, "cache"),
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "METAKIT_WORKER_THREADS": threads,
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            **{k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        }

    def _start(self) -> None:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        self.output_path = self.dir / "output.log"
        output = open(self.output_path, "wb")
        if self.mode == "namespaces":
            os.chown(self.output_path, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        try:
            self.proc = subprocess.Popen(
                self._command(to_worker_r, from_worker_w),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=self._environment(),
                pass_fds=(to_worker_r, from_worker_w),
                start_new_session=True,
                preexec_fn=functools.partial(_set_limits, self.limits),
            )
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
            output.close()
        self._writer = os.fdopen(to_worker_w, "wb")
        self._reader_fd = from_worker_r
        self.hello = self._receive("loading your notebook's code")

    def close(self) -> None:
        """Kill the worker and everything it started; delete its folder."""
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc = None
        for closer in (self._writer_close, lambda: os.close(self._reader_fd)):
            try:
                closer()
            except (OSError, AttributeError, ValueError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def _writer_close(self) -> None:
        self._writer.close()

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
        except (BrokenPipeError, OSError):
            raise self._crash(doing) from None
        reply = self._receive(doing)
        return reply

    def _receive(self, doing: str) -> Any:
        data = self._read_frame(doing)
        try:
            reply = wire.decode_message(data)
        except wire.WireError as exc:
            raise WorkerProtocolError(f"while {doing}, your code's process sent something unreadable: {exc}")
        if not isinstance(reply, dict) or "ok" not in reply:
            raise WorkerProtocolError(f"while {doing}, your code's process sent an unexpected reply")
        if not reply["ok"]:
            raise StudentError.from_worker(reply.get("error") or {}, doing)
        return reply.get("value")

    def _read_frame(self, doing: str) -> bytes:
        chunks = bytearray()
        needed = 8
        header_done = False
        while len(chunks) < needed:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(doing)
            ready, _, _ = select.select([self._reader_fd], [], [], min(remaining, 1.0))
            if not ready:
                if self.proc is not None and self.proc.poll() is not None:
                    raise self._crash(doing)
                continue
            chunk = os.read(self._reader_fd, min(1 << 20, needed - len(chunks)))
            if not chunk:
                raise self._crash(doing)
            chunks += chunk
            if not header_done and len(chunks) >= 8:
                size = int.from_bytes(chunks[:8], "big")
                if size > wire.MAX_FRAME_BYTES:
                    raise WorkerProtocolError(
                        f"while {doing}, your code's process sent {size / 2**20:.0f} MiB, over the "
                        f"{wire.MAX_FRAME_BYTES / 2**20:.0f} MiB limit"
                    )
                needed, header_done = 8 + size, True
        return bytes(chunks[8:])

    def _timeout(self, doing: str) -> StudentTimeout:
        self.close()
        return StudentTimeout(
            f"your code did not finish within the {self.limits.wall_s:g} s this test allows "
            f"(while {doing}). Look for an infinite loop, or for work that is much slower than it "
            f"needs to be."
        )

    def _crash(self, doing: str) -> StudentCrash:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
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


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _sh(arg: Any) -> str:
    import shlex

    return shlex.quote(str(arg))


# ---------------------------------------------------------------------- test-facing session
class StudentSession:
    """What a hidden test's ``student`` fixture is: calls into the submission, in one worker.

    The worker starts on first use and lives until the test ends; ``limits.wall_s`` is the budget
    of the whole test. See docs/authoring.md for the calls.
    """

    def __init__(self, cells_path: Path, limits: Limits, config: SandboxConfig, seed: int,
                 load_report: dict | None = None) -> None:
        self.cells_path, self.limits, self.config, self.seed = cells_path, limits, config, seed
        self.load_report = load_report or {}
        self._worker: WorkerProcess | None = None
        self.output_tails: list[str] = []

    @property
    def worker(self) -> WorkerProcess:
        if self._worker is None:
            self._worker = WorkerProcess(self.cells_path, self.limits, self.config, self.seed)
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self.output_tails.append(self._worker.output_tail())
            self._worker.close()
            self._worker = None

    def output_so_far(self) -> str:
        """What the student's code printed in this test (the tail), for the instructor log."""
        current = [self._worker.output_tail()] if self._worker is not None else []
        return "\n".join(t for t in self.output_tails + current if t)

    # ------------------------------------------------------------------ calls
    def call(self, target: str, *args: Any, keep: bool = False, **kwargs: Any) -> Any:
        """Call ``target`` (a name in the submission, or ``"module:attr"``) with plain data."""
        if ":" not in target:
            self._require(target.split(".")[0])
        doing = f"calling {target}(...)"
        return self._request({"op": "call", "target": target, "args": list(args), "kwargs": kwargs,
                              "keep": keep}, doing)

    def method(self, ref: wire.Ref, name: str, *args: Any, keep: bool = False, **kwargs: Any) -> Any:
        doing = f"calling .{name}(...) on your {ref.type}"
        return self._request({"op": "method", "ref": ref, "name": name, "args": list(args),
                              "kwargs": kwargs, "keep": keep}, doing)

    def attr(self, ref: wire.Ref, name: str, keep: bool = False) -> Any:
        return self._request({"op": "attr", "ref": ref, "name": name, "keep": keep},
                             f"reading .{name} of your {ref.type}")

    def ref(self, target: str) -> wire.Ref:
        """A handle to a function or class the submission defines (to pass to a harness helper)."""
        if ":" not in target:
            self._require(target.split(".")[0])
        return self._request({"op": "get", "target": target, "keep": True}, f"looking up {target}")

    def has(self, name: str) -> bool:
        return name in self.worker.hello.get("names", [])

    def exec_public(self, code: str, label: str) -> None:
        """Run public check code (never hidden test code) in a copy of the submission's namespace."""
        self._request({"op": "exec", "code": code, "label": label}, f"running check {label}")

    def release(self, ref: wire.Ref) -> None:
        self._request({"op": "release", "id": ref.id}, "releasing an object")

    def _request(self, message: dict, doing: str) -> Any:
        try:
            return self.worker.request(message, doing)
        except (StudentTimeout, StudentCrash, WorkerProtocolError):
            self._worker = None
            raise

    def _require(self, name: str) -> None:
        if name in self.worker.hello.get("names", []):
            return
        raise MissingName.for_name(name, self.worker.hello.get("cells", []), self.load_report)


def worker_seed(text: str) -> int:
    """A stable seed from a test's name (``hash()`` is salted per process; this is not)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
