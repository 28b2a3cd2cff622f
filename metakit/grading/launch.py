"""Limits and sandbox configuration of a worker, and the command and environment it starts with.

The lowest layer of the grader's side of a worker (:mod:`metakit.grading.sandbox` describes the
isolation modes and re-exports every name): :class:`Limits` of one test, :class:`SandboxConfig` of
a grading run, the start-up code every worker and zygote runs (:func:`bootstrap`), the jail they
start in (:func:`launch_command`), their resource limits and their environment. It starts nothing
itself (but :func:`baseline_mb`'s measuring interpreter).
"""
from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from metakit.grading import jail
from metakit.grading.errors import GraderError
from metakit.paths import PACKAGE_DIR

OUTPUT_TAIL_BYTES = 4000
STARTUP_S = float(os.environ.get("METAKIT_WORKER_STARTUP_S", "180"))
MODES = ("namespaces", "process")


MIN_MEMORY_MB = 64


@dataclass
class Limits:
    """Resource limits of one worker (one hidden test).

    ``memory_mb`` is what the student's code may allocate *above* the interpreter's own address
    space with numpy, torch and the kit imported (about 0.6 GB with a CPU build of torch, over 3 GB
    with a CUDA build), so the same mark means the same budget on every machine.
    """

    wall_s: float = 30.0
    memory_mb: int = 3072
    output_mb: int = 16
    max_processes: int = 256
    threads: int = 1
    tmp_mb: int = 64

    @property
    def cpu_s(self) -> int:
        return int(self.wall_s * max(1, self.threads) + 5)


@dataclass
class SandboxConfig:
    """What every worker of a grading run shares.

    ``hidden_paths``: what a worker must never see (the kit's private folders, the grader's work
    folder, every submission, the reports); ``data_paths``: files the assignment's graders declare
    (read-only in the worker); ``isolation``: ``auto``, ``namespaces`` or ``process``; ``env``:
    variables set in every worker's environment (an assignment's ``[shared]`` folders, which are
    among ``data_paths``).
    """

    hidden_paths: list[Path] = field(default_factory=list)
    isolation: str = "auto"
    data_paths: list[Path] = field(default_factory=list)
    workers: str = "fresh"  # "fork": one zygote per submission forks each test's worker; "fresh": a new interpreter each
    preload: list[str] = field(default_factory=list)  # modules (or module:function) each zygote imports (calls) first
    env: dict[str, str] = field(default_factory=dict)

    def root_plan(self, tmp_mb: int) -> jail.RootPlan:
        return _cached_plan(tuple(map(str, self.hidden_paths)), tuple(map(str, self.data_paths)), tmp_mb)


@functools.lru_cache(maxsize=8)
def _cached_plan(hidden: tuple[str, ...], data: tuple[str, ...], tmp_mb: int) -> jail.RootPlan:
    return jail.plan_root(PACKAGE_DIR, private_paths=[Path(p) for p in hidden],
                          data_paths=[Path(p) for p in data], tmp_mb=tmp_mb)


def bootstrap(then: str) -> str:
    """Worker start-up code: import the kit from the grader's own package folder (never from a
    checkout on ``sys.path``), add the user's site-packages when there is one, then run ``then``."""
    user_site = jail.user_site()
    return (
        "import sys, importlib.util\n"
        + (f"import site; site.addsitedir({user_site!r})\n" if user_site else "")
        + f"spec = importlib.util.spec_from_file_location('metakit', {str(PACKAGE_DIR / '__init__.py')!r},"
        f" submodule_search_locations=[{str(PACKAGE_DIR)!r}])\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['metakit'] = module\n"
        "spec.loader.exec_module(module)\n"
        f"{then}"
    )


@functools.lru_cache(maxsize=1)
def baseline_mb() -> int:
    """Address space (MB) of a fresh worker interpreter with numpy, torch and the kit imported."""
    code = bootstrap("import numpy, torch, metakit.grading.worker\n"
                     "print([l for l in open('/proc/self/status') if l.startswith('VmSize')][0].split()[1])")
    try:
        out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=STARTUP_S,
                             env=worker_environment("process", 1, Path(tempfile.gettempdir())))
        return int(out.stdout.strip().splitlines()[-1]) // 1024
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return 4096   # unknown: leave room for a CUDA build of torch


def check_memory_limit(limits: Limits) -> None:
    if limits.memory_mb < MIN_MEMORY_MB:
        raise GraderError(f"the worker could not start: this test's memory limit ({limits.memory_mb} MB) is below "
                          f"the {MIN_MEMORY_MB} MB a worker needs above the interpreter; raise memory_mb in its "
                          f"@graded mark")


def jails_as_root() -> bool:
    """Namespaces as real root (``setpriv`` to nobody), or through a user namespace (not root, or
    ``METAKIT_USERNS=1`` to test that path as root)."""
    return os.geteuid() == 0 and os.environ.get("METAKIT_USERNS") != "1"


def launch_command(python: list[str], mode: str, config: SandboxConfig, private_dir: Path, tmp_mb: int,
                   drop: bool = True) -> list[str]:
    """``python`` as it starts in ``mode``: itself, or inside the jail built at ``private_dir/root``
    (``drop=False`` keeps its privileges: the zygote drops them in each worker it forks)."""
    if mode == "process":
        return python
    root = private_dir / "root"
    root.mkdir()
    script = jail.setup_script(config.root_plan(tmp_mb), root, python, as_root=jails_as_root(), drop=drop)
    return jail.unshare_command(script, as_root=jails_as_root())


def _set_limits(limits: Limits, baseline: int) -> None:
    """Runs in the child between fork and exec."""
    mem = (limits.memory_mb + baseline) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 2))
    out = limits.output_mb * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))


def worker_environment(mode: str, threads: int, private_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a worker (or a zygote): nothing of the grader's is passed on but
    ``extra`` (the sandbox's ``env``)."""
    home = "/tmp" if mode == "namespaces" else str(private_dir)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "MPLCONFIGDIR": home,
        "MPLBACKEND": "Agg",
        "METAKIT_CACHE": os.path.join(home, "cache"),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "METAKIT_WORKER_THREADS": str(threads),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "METAKIT_DEVICE": "cpu",   # graders run on the CPU, whatever the machine has (metakit.device)
        **{k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "METAKIT_DATA_DIR")},
        **(extra or {}),
    }

