"""The runner's fork servers, lent to one submission's grading process at a time.

Starting a zygote costs an interpreter and the assignment's preloads (``import torch``, and for
hw3 transformers and two model families: about 6 s on an idle core). A :class:`ZygotePool` pays
that once per submission graded *at a time*, not once per submission: the runner borrows a zygote
for a submission (:meth:`ZygotePool.lend`), passes its control socket to the grading process, which
attaches to it (:meth:`metakit.grading.children.Zygote.attach`), and gives it back when that process
has ended. Between two submissions the zygote is reset: every worker it forked for the first is
killed and forgotten, and a zygote that no longer answers is closed and replaced by a fresh one.

No submission's code runs in a zygote (it only forks); each worker starts from the zygote's state
before any submission, so lending one zygote to many submissions, one after another, shares
nothing between them but the kit's own imports.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from metakit.grading.children import Zygote
from metakit.grading.errors import GraderError
from metakit.grading.launch import SandboxConfig


class ZygotePool:
    """Zygotes for the submissions a runner grades, one per submission graded at a time."""

    def __init__(self, config: SandboxConfig, mode: str) -> None:
        self.config, self.mode = config, mode
        self._idle: list[Zygote] = []
        self._lock = threading.Lock()
        self.started = 0
        self.closed = False

    def _take(self) -> Zygote | None:
        """An idle zygote that answers, else a new one; None when none can start (the grading process
        then starts a fresh worker for each test, and says why in its log)."""
        while True:
            with self._lock:
                zygote = self._idle.pop() if self._idle else None
            if zygote is None:
                break
            try:
                zygote.reset()
                return zygote
            except GraderError:
                zygote.close()
        try:
            zygote = Zygote(self.config, self.mode)
        except GraderError as exc:
            print(f"metakit: no zygote ({exc}); each test starts a fresh worker\n{exc.output_tail}", file=sys.stderr)
            return None
        with self._lock:
            self.started += 1
        return zygote

    def _give_back(self, zygote: Zygote) -> None:
        try:
            zygote.reset()
        except GraderError:
            zygote.close()
            return
        with self._lock:
            if not self.closed:
                self._idle.append(zygote)
                return
        zygote.close()

    @contextmanager
    def lend(self) -> Iterator[Zygote | None]:
        """A zygote for one submission's grading (None when none could start); reset when it comes back."""
        zygote = self._take()
        try:
            yield zygote
        finally:
            if zygote is not None:
                self._give_back(zygote)

    def close(self) -> None:
        """Kill every idle zygote now, and each one still lent when it comes back."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for zygote in idle:
            zygote.close()
