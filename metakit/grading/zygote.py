"""The fork server: it forks a fresh worker for each hidden test.

A fresh worker costs an interpreter start and ``import torch`` (about a second each test). The
zygote pays that once: the grader starts it exactly like a worker (same jail, same environment),
it imports numpy, torch and the worker code (kit code only: it never loads a submission), says
``ready``, and then serves ``spawn`` requests on its control socket. Each request carries the
test's limits and, by SCM_RIGHTS, the worker's ends of the two pipes and its output file. For it:

* in ``namespaces`` mode the zygote forks C, which enters a new pid namespace and forks G, the
  worker, pid 1 there. G enters new mount and IPC namespaces, mounts a fresh ``/tmp``,
  ``/var/tmp``, ``/dev/shm`` and ``/proc``, so nothing a test writes or starts reaches the next,
  then drops to ``nobody`` (``setuid`` as root; a nested user namespace, no capabilities, without
  root) with no new privileges. C reports G's pid, waits for it and exits with its status.
* in ``process`` mode the zygote forks the worker in its own session and private folder.

Either way the worker then sets the test's resource limits, keeps only its three descriptors, and
runs :func:`metakit.grading.worker.serve_forked`: from here on it is the same worker as a fresh one.
The zygote answers ``kill`` (SIGKILL to the worker, pid 1 of its namespace, so all it forked dies
too), ``wait`` (its exit status), ``info`` (what its ``ready`` said) and ``reset`` (kill every
worker still alive, forget them all, and echo the request's ``nonce``), and hears only the grader.

One zygote serves one submission at a time, and one after another: the grader lends it to a
submission's grading process and resets it when that process ends (so no worker of one submission
outlives its grading, and a reply the process left unread is skipped by the nonce). Nothing of a
submission ever runs in the zygote itself: it only forks, and each worker is a fresh copy of the
state it had before any submission.

This module is the fork server's own code, run in its process. The grader's side (it starts the
server and sends it these requests) is :class:`metakit.grading.children.Zygote`.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import signal
import socket
import sys
import tempfile
from typing import Any

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x20000000, 0x08000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = \
    0x1, 0x2, 0x4, 0x8, 0x20, 0x1000, 0x2000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
NOBODY = 65534
PRIVATE = {"/tmp": 64, "/var/tmp": 16, "/dev/shm": 16}
MAX_MESSAGE = 1 << 16

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


# ---------------------------------------------------------------------- one test's worker
def mount_points() -> list[str]:
    """The mount points of this mount namespace (``/proc/self/mountinfo``, octal escapes decoded)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            raw = line.split()[4]
            points.append(raw.encode().decode("unicode_escape"))
    return points


def _top_level_under(folder: str, points: list[str]) -> list[str]:
    inside = sorted({p for p in points if p.startswith(folder.rstrip("/") + "/")}, key=len)
    top: list[str] = []
    for point in inside:
        if not any(point.startswith(t + "/") for t in top):
            top.append(point)
    return top


def fresh_folder(folder: str, size_mb: int, stage: str) -> None:
    """A new empty tmpfs at ``folder`` that keeps the read-only folders mounted inside it (a venv or
    the kit under /tmp): they are moved to ``stage``, the tmpfs is mounted, and they are moved back."""
    staged = []
    for number, point in enumerate(_top_level_under(folder, mount_points())):
        holder = os.path.join(stage, str(number))
        os.makedirs(holder, exist_ok=True)
        mount(point, holder, None, MS_BIND | MS_REC)       # a bind keeps the source's read-only flag
        staged.append((holder, point))
    mount("metakit-tmp", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode=1777")
    for holder, point in staged:
        os.makedirs(point, exist_ok=True)
        mount(holder, point, None, MS_MOVE)
        try:
            mount("none", point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        except OSError:
            pass                                             # locked flags in a user namespace: already read-only
        os.rmdir(holder)
    if staged:
        os.rmdir(stage)


def fresh_namespace_view(tmp_mb: int) -> None:
    """New mount and IPC namespaces with private /tmp, /var/tmp and /dev/shm (keeping what is
    mounted inside them) and a /proc of this pid namespace."""
    unshare(CLONE_NEWNS | CLONE_NEWIPC)
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    order = [f for f in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(f)]
    for folder in order:
        elsewhere = next(f for f in order + ["/"] if f != folder)    # stage in another private folder
        size = tmp_mb if folder == "/tmp" else PRIVATE[folder]
        fresh_folder(folder, size, os.path.join(elsewhere, f".metakit-stage-{os.getpid()}"))
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def drop_privileges(as_root: bool) -> None:
    """Become ``nobody`` with no capabilities and no way to gain any."""
    if as_root:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    else:
        unshare(CLONE_NEWUSER)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{NOBODY} 0 1"), ("gid_map", f"{NOBODY} 0 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        for cap in range(64):
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        _drop_capability_sets()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _drop_capability_sets() -> None:
    """capset(2): empty effective, permitted and inheritable sets."""
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def set_limits(limits: dict) -> None:
    mem = int(limits["memory_mb"]) * 2**20
    cpu = int(limits["cpu_s"])
    out = int(limits["output_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["max_processes"]),) * 2)


def keep_only(fds: list[int]) -> list[int]:
    """Close every descriptor but stdin/out/err and ``fds``; return ``fds``."""
    keep = set(fds) | {0, 1, 2}
    for fd in map(int, os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    return fds


def become_worker(request: dict, fds: list[int], mode: str, as_root: bool) -> None:
    """In the forked child: set up, then serve as the test's worker. Never returns."""
    code = 70
    try:
        rfd, wfd, outfd = fds
        os.dup2(outfd, 1)
        os.dup2(outfd, 2)
        os.close(outfd)
        if mode == "namespaces":
            fresh_namespace_view(int(request["limits"].get("tmp_mb", 64)))
            os.chdir("/tmp")
        else:
            os.setsid()
            home = tempfile.mkdtemp(prefix="metakit-worker-")
            os.chdir(home)
            for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
                os.environ[name] = home
            os.environ["METAKIT_CACHE"] = os.path.join(home, "cache")
        rfd, wfd = keep_only([rfd, wfd])
        set_limits(request["limits"])
        if mode == "namespaces":
            drop_privileges(as_root)
        os.environ["METAKIT_WORKER_THREADS"] = str(request["limits"].get("threads", 1))
        from metakit.grading.worker import serve_forked

        serve_forked(rfd, wfd, int(request["seed"]))
        code = 0
    except BaseException as exc:  # noqa: BLE001 - report set-up failures in the output, then exit
        print(f"metakit zygote: the worker could not be set up: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def spawn(request: dict, fds: list[int], mode: str, as_root: bool, control: socket.socket) -> int:
    """Fork the test's worker; its pid (in this process's pid namespace)."""
    if mode != "namespaces":
        pid = os.fork()
        if pid == 0:
            control.close()
            become_worker(request, fds, mode, as_root)
        LIVE.add(pid)
        return pid
    report_r, report_w = os.pipe()
    middle = os.fork()
    if middle == 0:                      # C: a new pid namespace for its one child
        control.close()
        os.close(report_r)
        try:
            unshare(CLONE_NEWPID)
            worker = os.fork()
            if worker == 0:
                os.close(report_w)
                become_worker(request, fds, mode, as_root)
            os.write(report_w, str(worker).encode())
            os.close(report_w)
            for fd in fds:
                os.close(fd)
            _, status = os.waitpid(worker, 0)
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else min(code, 127))
        except BaseException as exc:  # noqa: BLE001
            print(f"metakit zygote: could not enter a new pid namespace: {exc}", file=sys.stderr, flush=True)
            os._exit(70)
    os.close(report_w)
    text = os.read(report_r, 32)
    os.close(report_r)
    for fd in fds:
        os.close(fd)
    if not text:
        os.waitpid(middle, 0)
        raise OSError("the worker's namespace could not be made")
    CHILDREN[int(text)] = middle
    LIVE.add(int(text))
    return int(text)


CHILDREN: dict[int, int] = {}   # worker pid -> the pid to wait for (itself, or its C)
LIVE: set[int] = set()          # workers forked and not yet seen to exit


def exit_status(pid: int, block: bool) -> int | None:
    """The worker's exit code (negative: killed by that signal), or None while it runs."""
    waited = CHILDREN.get(pid, pid)
    try:
        done, status = os.waitpid(waited, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return STATUS.get(pid)
    if done == 0:
        return None
    code = os.waitstatus_to_exitcode(status)
    if waited != pid and code >= 128:      # C encodes the worker's signal as 128 + signal
        code = -(code - 128)
    STATUS[pid] = code
    LIVE.discard(pid)
    return code


def kill(pid: int, mode: str) -> int | None:
    """SIGKILL the worker (its process group too in ``process`` mode) and reap it."""
    for kill in ((lambda: os.killpg(pid, signal.SIGKILL)) if mode == "process" else None, lambda: os.kill(pid, signal.SIGKILL)):
        try:
            if kill is not None:
                kill()
        except (ProcessLookupError, PermissionError):
            pass
    return exit_status(pid, block=True)


def reset(mode: str) -> int:
    """Kill every worker still alive and forget every worker: the state before the first spawn.
    Returns how many were still alive."""
    alive = sorted(LIVE)
    for pid in alive:
        kill(pid, mode)
    LIVE.clear()
    CHILDREN.clear()
    STATUS.clear()
    return len(alive)


STATUS: dict[int, int] = {}


def handle(message: dict, fds: list[int], mode: str, as_root: bool, control: socket.socket) -> dict:
    op = message.get("op")
    if op == "spawn":
        return {"ok": True, "pid": spawn(message, fds, mode, as_root, control)}
    if op == "reset":
        return {"ok": True, "nonce": message.get("nonce"), "killed": reset(mode)}
    if op == "info":
        return {**READY, "ok": True}
    pid = int(message.get("pid", 0))
    if pid not in LIVE and pid not in STATUS:
        raise ValueError(f"no worker {pid} was forked since the last reset")
    if op == "kill":
        return {"ok": True, "status": kill(pid, mode)}
    if op == "wait":
        return {"ok": True, "status": exit_status(pid, block=bool(message.get("block")))}
    raise ValueError(f"unknown zygote request {op!r}")


def serve(control: socket.socket, mode: str, as_root: bool) -> None:
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 3)
        except OSError:
            return
        if not data:
            return
        try:
            reply = handle(json.loads(data), list(fds), mode, as_root, control)
        except Exception as exc:  # noqa: BLE001 - the grader hears what went wrong
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        control.sendall(json.dumps(reply).encode())


READY: dict[str, Any] = {}   # what this zygote said when it was ready (the ``info`` reply)


def address_space_mb() -> int:
    """This process's virtual memory size (what every forked worker starts with), in MB."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def preload(entries: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import each ``module`` (call each ``module:function``) of the assignment's trusted list; one
    that fails is left to each worker, which meets the same error where the submission imports it."""
    import importlib

    done, failed = [], {}
    for entry in entries:
        module, _, function = entry.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
            done.append(entry)
        except Exception as exc:  # noqa: BLE001 - a missing library is the worker's error to report
            failed[entry] = f"{type(exc).__name__}: {exc}"[:300]
    return done, failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--mode", choices=["namespaces", "process"], required=True)
    parser.add_argument("--as-root", action="store_true")
    parser.add_argument("--preload", default="", help="comma-separated modules (or module:function) to import (call)")
    args = parser.parse_args(argv)

    import numpy  # noqa: F401 - imported once here, shared by every worker it forks
    import torch

    import metakit.grading.harness  # noqa: F401
    import metakit.grading.wire  # noqa: F401
    import metakit.grading.worker  # noqa: F401

    preloaded, failed = preload([entry for entry in args.preload.split(",") if entry])
    gc.collect()
    gc.freeze()  # the cyclic GC of a forked worker leaves what was imported here alone: fewer copied pages
    if args.mode == "process":
        metakit.grading.worker.not_dumpable()  # a worker runs as this process's user here: it must not ptrace the zygote it came from
    control = socket.socket(fileno=args.control)
    READY.update({"ok": True, "stage": "ready", "mode": args.mode, "python": sys.version.split()[0], "torch": torch.__version__,
                  "vm_mb": address_space_mb(), "preloaded": preloaded, "preload_failed": failed})
    control.sendall(json.dumps(READY).encode())
    serve(control, args.mode, args.as_root)


def request(control: socket.socket, message: dict, fds: list[int] = ()) -> Any:  # noqa: B006
    """Grader side: one request and its reply."""
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))
    return json.loads(control.recv(MAX_MESSAGE) or b"{}")
