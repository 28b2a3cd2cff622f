"""Where models train: ``metakit.device()`` picks CUDA, then Apple's MPS, then the CPU.

``$METAKIT_DEVICE`` overrides the choice (``cpu``, ``cuda``, ``cuda:1``, ``mps``); a value that is
not a device, or a device this machine does not have, raises a ``ValueError`` that names the devices
that are available. ``metakit.device("cpu")`` makes the CPU the default of one notebook while still
letting ``$METAKIT_DEVICE`` move it. ``describe()`` says in one line what was chosen and why.

The kit's training loops and model loaders default to this choice (their ``device=None``); the
hidden graders always run on the CPU (the grader sets ``METAKIT_DEVICE=cpu`` for itself and its
workers), and so do the kit's own tests (``tests/conftest.py`` pins the CPU; the tests marked
``accelerator`` pass their GPU explicitly).

This module is callable, so ``metakit.device()`` and ``metakit.device.describe()`` both work;
torch is imported only when a device is asked for, so ``import metakit`` stays cheap.
"""
from __future__ import annotations

import os
import sys
import types

TYPE_CHECKING = False  # (not typing's: importing typing would slow `python -m metakit` for nothing)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    import torch

ENV = "METAKIT_DEVICE"
SUPPORTED = ("cpu", "cuda", "mps")


def _mps_available(torch_module: Any) -> bool:
    mps = getattr(torch_module.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available() -> list[str]:
    """Names of the devices this machine offers, best first: ``cuda``/``cuda:<i>``, ``mps``, ``cpu``."""
    import torch

    names = []
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available(torch):
        names.append("mps")
    return names + ["cpu"]


def _here() -> str:
    return ", ".join(available())


def _check(value: "str | torch.device", source: str) -> "torch.device":
    """``value`` as a ``torch.device`` when this machine has it, else a ValueError naming what it has."""
    import torch

    try:
        chosen = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{source} is not a device name; use one of: {_here()}") from None
    if chosen.type not in SUPPORTED:
        raise ValueError(f"{source}: the kit trains on {', '.join(SUPPORTED)} only; available here: {_here()}")
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{source}: CUDA is not available on this machine (no GPU, or a CPU build "
                             f"of torch {torch.__version__}); available here: {_here()}")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ValueError(f"{source}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                             f"(cuda:0 to cuda:{torch.cuda.device_count() - 1}); available here: {_here()}")
    if chosen.type == "mps" and not _mps_available(torch):
        raise ValueError(f"{source}: Apple's MPS is not available on this machine; available here: {_here()}")
    if chosen.type == "cpu" and chosen.index not in (None, 0):
        raise ValueError(f"{source}: there is one CPU device ('cpu'); available here: {_here()}")
    return chosen


def device(preferred: "str | torch.device | None" = None) -> "torch.device":
    """The device to train on.

    ``$METAKIT_DEVICE`` when it is set (checked: a ValueError names the available devices);
    otherwise ``preferred`` when given (checked the same way); otherwise the best device present:
    CUDA, then MPS (``torch.backends.mps.is_available()``), then the CPU.
    """
    import torch

    requested = os.environ.get(ENV, "").strip()
    if requested:
        return _check(requested, f"{ENV}={requested!r}")
    if preferred is not None:
        return _check(preferred, f"device({str(preferred)!r})")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def describe(preferred: "str | torch.device | None" = None) -> str:
    """One line: the device :func:`device` chooses, what it is, and why it was chosen."""
    import torch

    chosen = device(preferred)
    requested = os.environ.get(ENV, "").strip()
    why = (f"set by {ENV}={requested}" if requested else
           f"the default asked for here; {ENV} overrides it" if preferred is not None else
           f"chosen automatically (CUDA, then MPS, then CPU); {ENV} overrides it")
    if chosen.type == "cuda":
        index = chosen.index if chosen.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        what = f"{props.name}, {props.total_memory / 2**30:.0f} GiB, {torch.cuda.device_count()} CUDA device(s)"
    elif chosen.type == "mps":
        what = "Apple GPU (Metal)"
    else:
        others = [name for name in available() if name != "cpu" and ":" not in name]
        threads = torch.get_num_threads()
        found = f"also available: {', '.join(others)}" if others else "no CUDA or MPS device found"
        what = f"{threads} thread{'' if threads == 1 else 's'}; {found}"
    return f"{chosen} ({what}; torch {torch.__version__}): {why}"


def resolve(value: "str | torch.device | None") -> "torch.device":
    """A loop's ``device=`` argument: as given (not checked, as before), or :func:`device` for None."""
    import torch

    return device() if value is None else torch.device(value)


def device_of(module: "Any") -> "torch.device":
    """Where a module (or a MAML-like object with ``.device`` or ``.params``) lives; :func:`device`
    when it holds no tensor. Evaluation loops default to this, so they never move a trained model."""
    import torch

    if isinstance(module, torch.nn.Module):
        for tensor in (*module.parameters(), *module.buffers()):
            return tensor.device
        return device()
    where = getattr(module, "device", None)
    if isinstance(where, (str, torch.device)):
        return torch.device(where)
    params = getattr(module, "params", None)
    if isinstance(params, dict):
        for tensor in params.values():
            if torch.is_tensor(tensor):
                return tensor.device
    return device()


class _CallableModule(types.ModuleType):
    """``metakit.device(...)`` calls :func:`device`; the module's other names stay reachable."""

    def __call__(self, preferred: "str | torch.device | None" = None) -> "torch.device":
        return device(preferred)


sys.modules[__name__].__class__ = _CallableModule
