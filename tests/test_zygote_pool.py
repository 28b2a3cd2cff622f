"""The runner's zygotes (:mod:`metakit.grading.zygotes`): lent to one submission's grading process at
a time, reset between submissions (no worker of one outlives its grading, no stale reply is read),
replaced when one dies, and killed when the runner closes."""
from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from metakit.grading.errors import GraderError
from metakit.grading.sandbox import Limits, SandboxConfig, Zygote, namespaces_available
from metakit.grading.zygotes import ZygotePool
from metakit.paths import REPO_ROOT

HW = "hw_example"
REFERENCE = REPO_ROOT / "solutions" / HW / f"{HW}.ipynb"
MODES = ["process", *(["namespaces"] if namespaces_available() else [])]


def spawn_idle_worker(zygote: Zygote) -> tuple[int, list[int]]:
    """A forked worker that waits for a request it never gets (it stays alive); its pid and our
    ends of its pipes."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    output = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = zygote.spawn(Limits(wall_s=60), seed=0, fds=[to_worker_r, from_worker_w, output])
    finally:
        for fd in (to_worker_r, from_worker_w, output):
            os.close(fd)
    return pid, [to_worker_w, from_worker_r]


def alive(zygote: Zygote, pid: int) -> bool:
    return zygote.status(pid) is None


@pytest.mark.parametrize("mode", MODES)
def test_reset_kills_every_worker_still_alive_and_forgets_them(mode: str) -> None:
    zygote = Zygote(SandboxConfig(isolation=mode), mode)
    ours: list[int] = []
    try:
        first, fds = spawn_idle_worker(zygote)
        ours += fds
        second, fds = spawn_idle_worker(zygote)
        ours += fds
        time.sleep(0.5)
        assert alive(zygote, first) and alive(zygote, second)
        assert zygote.reset() == 2
        assert zygote.reset() == 0, "a reset zygote has no worker left"
        # Forgotten: the zygote refuses to wait for (or kill) a worker of before the reset.
        with pytest.raises(GraderError, match="no worker"):
            zygote._request({"op": "wait", "pid": first, "block": False})
        assert zygote.status(first) == -signal.SIGKILL
        third, fds = spawn_idle_worker(zygote)   # and it still forks
        ours += fds
        assert alive(zygote, third)
    finally:
        zygote.close()
        for fd in ours:
            os.close(fd)


def test_reset_skips_a_reply_nobody_read() -> None:
    """A grading process killed between a request and its reply leaves the reply in the socket;
    the reset after it reads past it to its own answer, so the next submission's first request
    gets its own reply."""
    zygote = Zygote(SandboxConfig(isolation="process"), "process")
    try:
        for _ in range(3):
            socket.send_fds(zygote.control, [json.dumps({"op": "info"}).encode()], [])
        time.sleep(0.3)
        assert zygote.reset() == 0
        assert zygote._request({"op": "info"})["stage"] == "ready"
    finally:
        zygote.close()


def test_attach_talks_to_a_zygote_through_an_inherited_descriptor() -> None:
    """What the grading process does with ``--metakit-zygote-fd``; closing the attached handle lets go
    of the zygote without killing it."""
    owner = Zygote(SandboxConfig(isolation="process", preload=["metakit.stats"]), "process")
    try:
        attached = Zygote.attach(os.dup(owner.fd), owner.log_path)
        assert attached.mode == "process" and attached.preloaded == ["metakit.stats"]
        assert attached.vm_mb == owner.vm_mb > 0
        pid, fds = spawn_idle_worker(attached)
        attached.close()
        assert owner.reset() == 1, "the owner still reaches the zygote, and the worker the attached handle forked"
        for fd in fds:
            os.close(fd)
    finally:
        owner.close()
    with pytest.raises(GraderError, match="no zygote on descriptor"):
        Zygote.attach(-1, Path("nowhere"))


def test_a_pool_lends_one_zygote_to_submissions_one_after_another_and_replaces_a_dead_one() -> None:
    pool = ZygotePool(SandboxConfig(isolation="process"), "process")
    try:
        with pool.lend() as first:
            pid, fds = spawn_idle_worker(first)
        for fd in fds:
            os.close(fd)
        with pool.lend() as again:
            assert again is first and pool.started == 1
            assert again.status(pid) == -signal.SIGKILL, "the first submission's worker did not outlive its lending"
            with pool.lend() as other:   # a second submission graded at the same time gets its own
                assert other is not again and pool.started == 2
        with pool.lend() as reused:
            os.killpg(reused.popen.pid, signal.SIGKILL)
            reused.popen.wait(timeout=10)
        with pool.lend() as fresh:   # the dead one was dropped when it came back
            assert fresh is not reused and fresh.alive and fresh.reset() == 0
        assert pool.started == 2 and pool._idle == [fresh]
    finally:
        pool.close()
    assert not pool._idle
    with pool.lend() as late:      # one lent after close is killed when it comes back
        pass
    assert not late.alive and late.popen is None and not pool._idle


def test_a_grader_uses_one_zygote_for_many_submissions(tmp_path: Path) -> None:
    """Graded one after another, submissions share the runner's one zygote and get the scores they get
    alone; a zygote killed between two submissions is replaced and the next is graded as usual."""
    from metakit.grading.runner import Grader, Submission

    grader = Grader(HW)
    try:
        scores = [grader.grade(Submission(f"s{i}", REFERENCE)).score for i in range(2)]
        assert grader.zygotes.started == 1
        assert scores == [grader.max_score] * 2
        os.killpg(grader.zygotes._idle[0].popen.pid, signal.SIGKILL)
        after = grader.grade(Submission("after", REFERENCE))
        assert after.score == grader.max_score and not after.grader_errors
        assert grader.zygotes.started == 2
        fresh = Grader(HW, workers="fresh")
        try:
            assert fresh.zygotes is None and fresh.grade(Submission("fresh", REFERENCE)).score == fresh.max_score
        finally:
            fresh.close()
    finally:
        grader.close()
    assert not grader.zygotes._idle
