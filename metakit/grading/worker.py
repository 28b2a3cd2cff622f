"""The student worker: a fresh interpreter that loads one submission and answers requests.

Started by :mod:`metakit.grading.process` (see :mod:`metakit.grading.sandbox`) with limits on
time, memory, output and processes (and, when the grader runs as root, as ``nobody`` in its own
namespaces on an allow-listed root).
It says ``ready`` before any student code exists in it, then serves requests read from one pipe
and answers on another, in the npz + JSON format of :mod:`metakit.grading.wire`; the first request
(``load``) brings the submission's cells, which it runs one by one.

The grader helpers (:mod:`metakit.grading.harness`) are copied, with their own globals, before the
cells run: a submission that patches the module changes nothing a hidden test calls.

Everything here runs next to hostile code: nothing it says is trusted by the grader, which checks
every value it receives. Its only job is to call what the grader names and send back plain data.
"""
from __future__ import annotations

import argparse
import importlib
import linecache
import os
import random
import sys
import traceback
import types
from typing import Any, Callable

MAX_MESSAGE_CHARS = 2000


TRUSTED_MODULES = ("metakit.grading.harness",)


def trusted_copies(module_names: tuple[str, ...] = TRUSTED_MODULES) -> dict[str, Callable]:
    """``"module:name"`` -> a copy of each public function of those modules whose globals are a
    snapshot taken now, before any student code: patching the module later does not reach them."""
    copies: dict[str, Callable] = {}
    for module_name in module_names:
        module = importlib.import_module(module_name)
        snapshot = dict(module.__dict__)
        for name, fn in vars(module).items():
            if isinstance(fn, types.FunctionType) and fn.__module__ == module_name and not name.startswith("_"):
                copy = types.FunctionType(fn.__code__, snapshot, fn.__name__, fn.__defaults__, fn.__closure__)
                copy.__kwdefaults__ = dict(fn.__kwdefaults__ or {})
                snapshot[name] = copy
                copies[f"{module_name}:{name}"] = copy
    return copies


class Worker:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.cells: list[dict] = []
        self.objects: dict[int, Any] = {}
        self.trusted = trusted_copies()
        self.module = types.ModuleType("submission")
        self.module.__file__ = os.path.abspath("submission.py")
        sys.modules["submission"] = self.module

    # ------------------------------------------------------------------ loading
    def load(self, cells: list[dict]) -> dict:
        """Run every cell's definitions; a cell that raises is reported, the others still load."""
        if self.cells:
            raise RuntimeError("the cells are loaded once")
        self.cells = [c for c in cells if isinstance(c, dict)]
        seed_everything(self.seed)
        statuses = []
        for index, cell in enumerate(self.cells):
            label = cell["label"]
            filename = f"<cell {label}>"
            code = cell["code"]
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            try:
                compiled = compile(code, filename, "exec")
                exec(compiled, self.module.__dict__)  # noqa: S102 - this is the sandbox
                statuses.append({"label": label, "ok": True})
            except BaseException as exc:  # noqa: BLE001 - report anything, even SystemExit
                statuses.append({"label": label, "ok": False, "error": describe(exc)})
        return {"cells": statuses, "names": self.defined_names()}

    def defined_names(self) -> list[str]:
        return sorted(n for n in self.module.__dict__ if not n.startswith("__"))

    # ------------------------------------------------------------------ objects
    def to_ref(self, value: Any) -> Any:
        ref_id = len(self.objects) + 1
        while ref_id in self.objects:
            ref_id += 1
        self.objects[ref_id] = value
        from metakit.grading.wire import Ref

        return Ref(ref_id, type(value).__name__)

    def resolve_ref(self, ref: Any) -> Any:
        if ref.id not in self.objects:
            raise LookupError(f"no worker object #{ref.id}")
        return self.objects[ref.id]

    def resolve_target(self, target: str) -> Any:
        """``"name.attr"`` in the submission, or ``"package.module:attr.attr"`` in a library."""
        if target in self.trusted:
            return self.trusted[target]
        if ":" in target:
            module_name, _, path = target.partition(":")
            obj: Any = importlib.import_module(module_name)
        else:
            head, _, path = target.partition(".")
            if head not in self.module.__dict__:
                raise NameError(f"name '{head}' is not defined")
            obj, path = self.module.__dict__[head], path
        for part in filter(None, path.split(".")):
            obj = getattr(obj, part)
        return obj

    # ------------------------------------------------------------------ requests
    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "load":
            value = self.load(request.get("cells") or [])
        elif op == "call":
            fn = self.resolve_target(request["target"])
            value = fn(*request.get("args", []), **request.get("kwargs", {}))
        elif op == "method":
            obj = request["ref"]
            value = getattr(obj, request["name"])(*request.get("args", []), **request.get("kwargs", {}))
        elif op == "attr":
            value = getattr(request["ref"], request["name"])
        elif op == "get":
            value = self.resolve_target(request["target"])
        elif op == "has":
            return {"ok": True, "value": request["name"] in self.module.__dict__}
        elif op == "exec":
            namespace = dict(self.module.__dict__)
            filename = f"<check {request.get('label', 'check')}>"
            code = request["code"]
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - public check code
            value = None
        elif op == "release":
            self.objects.pop(int(request["id"]), None)
            value = None
        else:
            raise ValueError(f"unknown request {op!r}")
        if request.get("keep"):
            return {"ok": True, "value": self.to_ref(value)}
        return {"ok": True, "value": value}


def describe(exc: BaseException) -> dict:
    """Type, message and the traceback frames that are in the student's cells."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(("<cell ", "<check ")):
            where = frame.filename[1:-1]
            frames.append({"where": where, "line": frame.lineno, "code": (frame.line or "").strip()})
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith("<cell "):
        frames.append({"where": exc.filename[1:-1], "line": exc.lineno or 0, "code": (exc.text or "").strip()})
    message = str(exc)
    if isinstance(exc, OSError) and exc.errno == 27:  # EFBIG: RLIMIT_FSIZE reached
        message = "printed or wrote more than the output limit allows (File too large)"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ..."
    return {"type": type(exc).__name__, "message": message, "frames": frames[-6:]}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(int(os.environ.get("METAKIT_WORKER_THREADS", "1")))
    except ImportError:
        pass


def serve(worker: Worker, reader, writer) -> None:
    from metakit.grading import wire

    import torch

    def make_tensor(array, requires_grad: bool):
        t = torch.from_numpy(array.copy())
        return t.requires_grad_(True) if requires_grad else t

    while True:
        try:
            frame = wire.read_frame(reader)
        except EOFError:
            return
        try:
            request = wire.decode_message(frame, make_tensor=make_tensor, resolve_ref=worker.resolve_ref)
            if request.get("op") == "exit":
                return
            reply = worker.handle(request)
            payload = wire.encode_message(reply, to_ref=worker.to_ref)
        except BaseException as exc:  # noqa: BLE001 - report everything, SystemExit included
            error = describe(exc)
            if isinstance(exc, MemoryError):
                error["message"] = "ran out of memory" + (f" ({exc})" if str(exc) else "")
            payload = wire.encode_message({"ok": False, "error": error})
        wire.write_frame(writer, payload)


def not_dumpable() -> None:
    """Linux: other processes of the same user may not read this one's memory, environment or
    files through /proc (what process isolation can do without root)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def serve_forked(rfd: int, wfd: int, seed: int) -> None:
    """Say ``ready``, then serve requests on the two pipe descriptors until the grader closes them.

    A fresh worker (:func:`main`) and one forked by the zygote both end up here, before any
    student code exists in the process."""
    from metakit.grading import wire

    import numpy  # noqa: F401 - a missing library is found here, before "ready"
    import torch

    not_dumpable()
    reader = wire.fd_stream(rfd, "rb")
    writer = wire.fd_stream(wfd, "wb")
    worker = Worker(seed)
    ready = {"stage": "ready", "python": sys.version.split()[0], "torch": torch.__version__, "uid": os.getuid()}
    wire.write_frame(writer, wire.encode_message({"ok": True, "value": ready}))
    serve(worker, reader, writer)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rfd", type=int, required=True)
    parser.add_argument("--wfd", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    serve_forked(args.rfd, args.wfd, args.seed)


if __name__ == "__main__":
    main()
