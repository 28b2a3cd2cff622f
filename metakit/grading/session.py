"""What a hidden test's ``student`` fixture is: calls into the submission, in one worker.

The worker starts on first use and lives until the test ends; ``limits.wall_s`` is the budget of
the whole test (start-up excluded: see :mod:`sandbox`). Every value comes back as plain data, or
as a :class:`~metakit.grading.wire.Ref` handle to an object that stays in the worker.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from metakit.grading import wire
from metakit.grading.errors import MissingName, StudentCrash, StudentTimeout, WorkerProtocolError
from metakit.grading.sandbox import Limits, SandboxConfig, WorkerProcess, Zygote, read_cells


class StudentSession:
    """The calls a hidden test makes; see docs/authoring.md."""

    def __init__(self, cells_path: Path, limits: Limits, config: SandboxConfig, seed: int, mode: str,
                 load_report: dict | None = None, zygote: Zygote | None = None) -> None:
        self.cells = read_cells(cells_path)
        self.zygote = zygote
        self.limits, self.config, self.seed, self.mode = limits, config, seed, mode
        self.load_report = load_report or {}
        self._worker: WorkerProcess | None = None
        self.output_tails: list[str] = []

    @property
    def worker(self) -> WorkerProcess:
        if self._worker is None:
            self._worker = WorkerProcess(self.cells, self.limits, self.config, self.seed, self.mode, zygote=self.zygote)
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
