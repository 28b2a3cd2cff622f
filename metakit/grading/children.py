"""The grader's handles on a running worker process, and on the fork server that forks them.

* :class:`FreshChild`: a worker started as its own interpreter (through the jail, or as a plain
  process); the grader kills its process group.
* :class:`ForkedChild`: a worker the fork server forked; the fork server waits for it and kills it.
* :class:`Zygote`: the *grader side* of the fork server: it starts the server (in the same jail,
  with the same environment as a worker) and sends it ``spawn``, ``wait``, ``kill`` and ``reset``
  requests; or, in a submission's grading process, it is attached to a server the runner started
  and lends (:class:`metakit.grading.zygotes.ZygotePool`). The code that runs *inside* the fork server's process (it forks,
  enters the namespaces, drops privileges, answers those requests) is :mod:`metakit.grading.zygote`.

:class:`metakit.grading.process.WorkerProcess` holds one of the two children as its ``proc``.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from metakit.grading.errors import GraderError
from metakit.grading.launch import (OUTPUT_TAIL_BYTES, STARTUP_S, Limits, SandboxConfig, bootstrap, jails_as_root,
                                    launch_command, worker_environment)

class FreshChild:
    """A worker started as its own interpreter (through the jail, or as a plain process)."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        _kill_group(self.popen)


class ForkedChild:
    """A worker the zygote forked; the zygote waits for it and kills it."""

    def __init__(self, zygote: "Zygote", pid: int) -> None:
        self.zygote, self.pid = zygote, pid

    def poll(self) -> int | None:
        return self.zygote.status(self.pid)

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            code = self.poll()
            if code is not None:
                return code
            time.sleep(0.05)
        return None

    def kill(self) -> None:
        self.zygote.kill(self.pid)


class Zygote:
    """Grader side of the fork server (:mod:`metakit.grading.zygote`): started exactly as a worker is
    (same jail, same environment), it forks each test's worker.

    ``Zygote(config, mode)`` starts a server and owns it (``close`` kills it);
    ``Zygote.attach(fd, log_path)`` talks to one that another process started and passed down as
    the descriptor ``fd`` (``close`` only lets go of it)."""

    def __init__(self, config: SandboxConfig, mode: str, tmp_mb: int = 64) -> None:
        self.mode, self.alive, self.popen = mode, False, None
        self.dir = Path(tempfile.mkdtemp(prefix="metakit-zygote-"))
        os.chmod(self.dir, 0o700)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        code = bootstrap("from metakit.grading.zygote import main\nmain()")
        python = [sys.executable, "-I", "-c", code, "--control", str(theirs.fileno()), "--mode", mode,
                  *(["--as-root"] if jails_as_root() else []),
                  *(["--preload", ",".join(config.preload)] if config.preload else [])]
        command = launch_command(python, mode, config, self.dir, tmp_mb, drop=False)
        self.log_path = self.dir / "zygote.log"
        with open(self.log_path, "wb") as log:
            try:
                self.popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                              cwd=self.dir, env=worker_environment(mode, 1, self.dir, config.env),
                                              pass_fds=(theirs.fileno(),), start_new_session=True,
                                              preexec_fn=_no_core_dumps)
            except OSError as exc:
                raise GraderError(f"could not start the zygote: {exc}") from None
            finally:
                theirs.close()
        self.control = ours
        self.control.settimeout(STARTUP_S)
        try:
            ready = json.loads(self.control.recv(1 << 16) or b"{}")
        except (OSError, ValueError) as exc:
            tail = self.log_tail()
            self.close()
            raise GraderError(f"the zygote did not start ({mode} isolation): {exc}", output_tail=tail) from None
        if ready.get("stage") != "ready":
            tail = self.log_tail()
            self.close()
            raise GraderError(f"the zygote did not start ({mode} isolation)", output_tail=tail)
        self.control.settimeout(120)
        self._ready(ready)

    @classmethod
    def attach(cls, fd: int, log_path: Path) -> "Zygote":
        """The zygote whose control socket this process inherited as ``fd`` (it asks for its ``info``)."""
        zygote = cls.__new__(cls)
        zygote.mode, zygote.alive, zygote.popen, zygote.dir = "", False, None, None
        zygote.log_path = Path(log_path)
        try:
            zygote.control = socket.socket(fileno=fd)
        except (OSError, ValueError) as exc:
            raise GraderError(f"no zygote on descriptor {fd}: {exc}") from None
        zygote.control.settimeout(120)
        zygote.alive = True
        info = zygote._request({"op": "info"})
        zygote.mode = str(info.get("mode", ""))
        zygote._ready(info)
        return zygote

    def _ready(self, ready: dict) -> None:
        self.vm_mb = int(ready.get("vm_mb") or 0)
        self.preloaded = list(ready.get("preloaded") or [])
        for entry, error in (ready.get("preload_failed") or {}).items():  # for the instructor log
            print(f"metakit: the zygote could not preload {entry} ({error}); each worker imports it itself",
                  file=sys.stderr)
        self.alive = True

    @property
    def fd(self) -> int:
        """The control socket's descriptor (to pass to a grading process, which attaches to it)."""
        return self.control.fileno()

    def reset(self) -> int:
        """Kill every worker the zygote forked and still runs; skip any reply a grading process left
        unread. How many workers were still alive; a GraderError when the zygote does not answer."""
        nonce = os.urandom(8).hex()
        from metakit.grading import zygote

        if not self.alive:
            raise GraderError("the zygote is not running")
        try:
            socket.send_fds(self.control, [json.dumps({"op": "reset", "nonce": nonce}).encode()], [])
            for _ in range(64):
                reply = json.loads(self.control.recv(zygote.MAX_MESSAGE) or b"null")
                if reply is None:
                    raise OSError("the zygote closed its socket")
                if reply.get("nonce") == nonce:
                    return int(reply.get("killed", 0))
            raise OSError("no answer to reset")
        except (OSError, ValueError) as exc:
            self.alive = False
            raise GraderError(f"the zygote stopped answering: {exc}", output_tail=self.log_tail()) from None

    def log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-OUTPUT_TAIL_BYTES:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _request(self, message: dict, fds: list[int] = ()) -> dict:  # noqa: B006
        from metakit.grading import zygote

        if not self.alive:
            raise GraderError("the zygote is not running")
        try:
            reply = zygote.request(self.control, message, fds)
        except (OSError, ValueError) as exc:
            self.alive = False
            raise GraderError(f"the zygote stopped answering: {exc}", output_tail=self.log_tail()) from None
        if not reply.get("ok"):
            raise GraderError(f"the zygote could not {message.get('op')}: {reply.get('error')}", output_tail=self.log_tail())
        return reply

    def spawn(self, limits: Limits, seed: int, fds: list[int]) -> int:
        spec = {"memory_mb": limits.memory_mb + (self.vm_mb or 4096), "cpu_s": limits.cpu_s, "output_mb": limits.output_mb,
                "max_processes": limits.max_processes, "threads": limits.threads, "tmp_mb": limits.tmp_mb}
        return int(self._request({"op": "spawn", "limits": spec, "seed": int(seed)}, fds)["pid"])

    def status(self, pid: int) -> int | None:
        try:
            return self._request({"op": "wait", "pid": pid, "block": False})["status"]
        except GraderError:
            return -signal.SIGKILL

    def kill(self, pid: int) -> None:
        try:
            self._request({"op": "kill", "pid": pid})
        except GraderError:
            pass

    def close(self) -> None:
        """Let go of the zygote; kill it too when this object started it."""
        self.alive = False
        try:
            self.control.close()
        except (OSError, AttributeError):
            pass
        if self.popen is not None:
            _kill_group(self.popen)
            self.popen = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


def _no_core_dumps() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


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
