"""One worker process as the grader sees it: start it, send it requests, read plain data back.

:class:`WorkerProcess` starts a worker (forked by the submission's :class:`~metakit.grading.children.Zygote`
when there is a working one, else a fresh interpreter), waits for its ``ready``, loads the cells
and turns what goes wrong into the student's or the grader's error; :func:`explain_exit` words a
worker's end for the student. The code that runs *in* the worker is :mod:`metakit.grading.worker`.
"""
from __future__ import annotations

import functools
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

from metakit.grading import wire
from metakit.grading.children import ForkedChild, FreshChild, Zygote
from metakit.grading.errors import GraderError, StudentCrash, StudentError, StudentTimeout, WorkerProtocolError
from metakit.grading.launch import (MODES, OUTPUT_TAIL_BYTES, STARTUP_S, Limits, SandboxConfig, _set_limits,
                                    baseline_mb, bootstrap, check_memory_limit, launch_command, worker_environment)

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
