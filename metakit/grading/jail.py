"""The filesystem a namespaced worker sees: an allow-list of read-only folders on an empty root.

As root on Linux a worker starts in new mount, pid, network, IPC and UTS namespaces, and a shell
script (:func:`setup_script`) builds its root there, as root, before any student code runs:

* an empty tmpfs as the new ``/``;
* private, size-capped tmpfs for ``/tmp``, ``/var/tmp`` and ``/dev/shm`` (they die with the worker);
* the devices ``null``, ``zero``, ``full``, ``random`` and ``urandom``, and a fresh ``/proc`` that
  shows only the worker's own processes;
* read-only bind mounts of what the interpreter needs, wherever it lives (``/tmp``, a home folder,
  conda): ``/usr``, ``/etc``, the top-level ``/bin``, ``/lib``... folders (or their usrmerge
  symlinks), the interpreter's prefixes and every folder on its ``sys.path``;
* read-only: a copy of the kit package's source files alone, at the package's own path (never
  the checkout around it: no ``.git``, ``solutions/``, ``autograder/``, ``tests/``; nor anything
  else that lands in the package folder), and the data files the assignment declares;
* empty read-only covers over any private or hidden path that one of those folders contains.

Then it moves into that root with ``pivot_root`` (``chroot`` where the kernel refuses it) and
unmounts the old one, and execs the worker as ``nobody`` with no new privileges. Whatever is not
in the list does not exist for the worker: other submissions, the grader's files, the reports.

Without root (a laptop, an instructor's account) the same root is built inside an unprivileged
user namespace where the kernel allows one (``unshare --user --map-root-user``), and the worker
then enters a nested user namespace as ``nobody``, with no capabilities over any of those mounts.
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

UNPRIVILEGED_UID = 65534  # nobody
DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LEVEL_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
TOOLS = ("mount", "umount", "pivot_root", "chroot", "setpriv", "unshare")
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class RootPlan:
    """What the worker's root holds. Paths are absolute; each read-only path appears at its own
    place in the new root, so the interpreter, its site-packages and the kit keep their paths."""

    readonly: list[Path] = field(default_factory=list)
    binds: dict[Path, Path] = field(default_factory=dict)     # path in the new root -> folder shown there
    symlinks: dict[str, str] = field(default_factory=dict)   # top-level name -> link target
    private: dict[str, int] = field(default_factory=dict)    # folder -> tmpfs size in MB
    covers: list[Path] = field(default_factory=list)         # paths inside readonly ones to hide


@functools.lru_cache(maxsize=1)
def tools() -> dict[str, str] | None:
    """Absolute paths of the programs the set-up needs, or None when one is missing."""
    found = {name: shutil.which(name, path=TOOL_PATH) for name in TOOLS}
    if not all(found.values()):
        return None
    return {name: os.path.realpath(path) for name, path in found.items()}


@functools.lru_cache(maxsize=4)
def package_copy(package_dir: Path) -> Path:
    """A read-only copy of the package's ``.py`` files (kept until this process exits): what the
    worker imports, so a file left in the package folder (by a process-isolated run, say) is not."""
    import atexit
    import tempfile

    holder = Path(tempfile.mkdtemp(prefix="metakit-package-"))
    atexit.register(shutil.rmtree, holder, True)
    copy = holder / package_dir.name
    for source in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in source.parts:
            continue
        target = copy / source.relative_to(package_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o644)
    for folder in [copy, *(p for p in copy.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    return copy


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@functools.lru_cache(maxsize=1)
def clean_sys_path() -> tuple[str, ...]:
    """``sys.path`` of this interpreter started in isolated mode (``-I``), as the worker starts:
    no ``PYTHONPATH``, no current folder, none of what pytest or the grader added."""
    import json
    import subprocess

    try:
        out = subprocess.run([sys.executable, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        return tuple(json.loads(out))
    except (OSError, ValueError, subprocess.SubprocessError):
        return tuple(p for p in sys.path if p and p.startswith((sys.prefix, sys.base_prefix)))


def user_site() -> str | None:
    """The user's site-packages when it exists (``pip install --user``); ``-I`` leaves it out, so
    the worker's bootstrap adds it back."""
    import site

    path = site.getusersitepackages() if site.ENABLE_USER_SITE is not False else None
    return path if path and os.path.isdir(path) else None


def interpreter_paths() -> list[Path]:
    """The folders this interpreter needs: its prefixes, its executable's folder, every entry of
    its isolated ``sys.path`` (site-packages of a venv, conda or the system) and the user site."""
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(sys.executable),
                  *clean_sys_path(), user_site()]
    existing = [p for p in candidates if p and os.path.exists(p)]
    return [Path(os.path.realpath(p)) for p in existing] + [Path(os.path.abspath(p)) for p in existing]


def minimal(paths: Iterable[Path]) -> list[Path]:
    """``paths`` without duplicates and without those inside another one, shortest first."""
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda p: (len(p.parts), str(p))):
        if not any(_inside(path, k) for k in kept):
            kept.append(path)
    return kept


def plan_root(package_dir: Path, private_paths: Sequence[Path], data_paths: Sequence[Path] = (),
              hidden_paths: Sequence[Path] = (), tmp_mb: int = 64) -> RootPlan:
    """The root of a worker that may import ``package_dir`` and read ``data_paths``.

    A folder that holds a private or hidden path, or lies inside one (the kit's checkout on the
    path of an editable install, the graders' folder), is left out: the package folder is bound
    on its own.
    """
    plan = RootPlan(private={"/tmp": tmp_mb, "/var/tmp": 16, "/dev/shm": 16})
    for name in TOP_LEVEL_SYSTEM:
        top = Path("/") / name
        if top.is_symlink():
            plan.symlinks[name] = os.readlink(top)
        elif top.is_dir():
            plan.readonly.append(top)
    private = [Path(os.path.abspath(p)) for p in private_paths]
    hidden = [Path(os.path.abspath(h)) for h in hidden_paths]
    wanted = [Path("/usr"), Path("/etc")]
    for path in interpreter_paths():
        if any(_inside(h, path) or _inside(path, h) for h in private + hidden):
            continue
        wanted.append(path)
    wanted += [Path(os.path.abspath(p)) for p in data_paths if Path(p).exists()]
    plan.readonly = minimal(plan.readonly + [p for p in wanted if p.exists()])
    plan.binds[Path(os.path.abspath(package_dir))] = package_copy(Path(os.path.abspath(package_dir)))
    everything_hidden = [*private, *hidden]
    plan.covers = [h for h in minimal(everything_hidden)
                   if h.exists() and any(_inside(h, r) for r in plan.readonly)]
    return plan


def setup_script(plan: RootPlan, root: Path, command: Sequence[str], as_root: bool = True,
                 uid: int = UNPRIVILEGED_UID, drop: bool = True) -> str:
    """The shell script that builds ``plan`` at ``root`` and execs ``command`` as ``uid`` there
    (``drop=False``: keeps its privileges, for the zygote, which drops them in each worker).

    It stops at the first failing step (``set -e``); what it prints goes to the worker's output,
    which the grader reads when the worker never reports ready.
    """
    t = tools() or {}
    q = shlex.quote
    mount, umount = q(t.get("mount", "mount")), q(t.get("umount", "umount"))
    r = q(str(root))
    lines = ["set -eu", "umask 022",
             f"{mount} -t tmpfs -o size=1m,mode=755,nosuid,nodev metakit-root {r}"]
    for folder, size in plan.private.items():
        lines += [f"mkdir -p {r}{q(folder)}",
                  f"{mount} -t tmpfs -o size={size}m,mode=1777,nosuid,nodev metakit-tmp {r}{q(folder)}"]
    lines.append(f"mkdir -p {r}/dev {r}/proc")
    for device in DEVICES:
        lines += [f"touch {r}/dev/{device}", f"{mount} --bind /dev/{device} {r}/dev/{device}"]
    lines.append(f"{mount} -t proc -o nosuid,nodev,noexec proc {r}/proc")
    for name, target in plan.symlinks.items():
        lines.append(f"ln -s {q(target)} {r}/{q(name)}")
    for path in plan.readonly:
        target = f"{r}{q(str(path))}"
        make = f"mkdir -p {target}" if path.is_dir() else f"mkdir -p {q(str(root) + str(path.parent))}; touch {target}"
        # In a user namespace a remount must keep the flags the source mount has (noexec, say).
        lines += [f"[ -e {target} ] || {{ {make}; }}",
                  f"{mount} --bind {q(str(path))} {target}",
                  f"{mount} -o remount,bind,ro,nosuid,nodev {target} 2>/dev/null || "
                  f"{mount} -o remount,bind,ro,nosuid,nodev,noexec {target}"]
    for target_path, source in plan.binds.items():
        target = f"{r}{q(str(target_path))}"
        lines += [f"[ -e {target} ] || mkdir -p {target}",
                  f"{mount} --bind {q(str(source))} {target}",
                  f"{mount} -o remount,bind,ro,nosuid,nodev {target} 2>/dev/null || "
                  f"{mount} -o remount,bind,ro,nosuid,nodev,noexec {target}"]
    for path in plan.covers:
        target = f"{r}{q(str(path))}"
        if path.is_dir():
            lines.append(f"{mount} -t tmpfs -o ro,size=4k,mode=000 metakit-hidden {target}")
        else:
            lines.append(f"{mount} --bind -o ro /dev/null {target}")
    if not drop:
        prefix: list[str] = []
    elif as_root:
        prefix = [t.get("setpriv", "setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                  "--no-new-privs", "--"]
    else:
        prefix = [t.get("unshare", "unshare"), "--user", f"--map-user={uid}", f"--map-group={uid}", "--",
                  t.get("setpriv", "setpriv"), "--no-new-privs", "--inh-caps=-all", "--"]
    run = " ".join(q(a) for a in [*prefix, *command])
    lines += [
        f"cd {r}",
        "mkdir .oldroot",
        f"if {q(t.get('pivot_root', 'pivot_root'))} . .oldroot 2>/dev/null; then",
        f"  {umount} -l /.oldroot; rmdir /.oldroot; cd /tmp; exec {run}",
        "fi",
        "rmdir .oldroot",
        f"exec {q(t.get('chroot', 'chroot'))} {r} /bin/sh -c {q('cd /tmp && exec ' + run)}",
    ]
    return "\n".join(lines) + "\n"


def unshare_command(script: str, as_root: bool = True) -> list[str]:
    """``unshare`` into new mount, pid, network, IPC and UTS namespaces (and, without root, a user
    namespace in which this user is root), then run ``script``."""
    t = tools() or {}
    user = [] if as_root else ["--user", "--map-root-user"]
    return [t.get("unshare", "unshare"), *user, "--mount", "--pid", "--net", "--ipc", "--uts", "--fork",
            "--kill-child", "--propagation", "private", "--", "/bin/sh", "-c", script]
