"""Helpers a hidden test may call inside the student's worker (``"metakit.grading.harness:..."``).

They run next to student code, so the grader trusts nothing they return: they only turn objects
that cannot cross the wire (modules, gradients) into plain arrays for the test to check. They never
contain an answer to an assignment.
"""
from __future__ import annotations

import random
from typing import Any, Callable

import numpy as np
import torch


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def generator(seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (keep it in the worker with ``keep=True``)."""
    return torch.Generator().manual_seed(int(seed))


def state_arrays(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """Every parameter and buffer of ``module`` by name, as float64 arrays."""
    return {name: t.detach().cpu().double().numpy() for name, t in module.state_dict().items()
            if torch.is_floating_point(t)}


def parameter_info(module: torch.nn.Module) -> dict[str, dict]:
    """Name -> {"shape", "requires_grad"} for every parameter."""
    return {name: {"shape": list(p.shape), "requires_grad": bool(p.requires_grad)}
            for name, p in module.named_parameters()}


def load_arrays(module: torch.nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Copy grader-chosen values into parameters/buffers (by name; dtypes follow the module)."""
    state = module.state_dict()
    with torch.no_grad():
        for name, value in arrays.items():
            state[name].copy_(torch.as_tensor(value, dtype=state[name].dtype))


def grad_arrays(module: torch.nn.Module) -> dict[str, np.ndarray | None]:
    """The ``.grad`` of every parameter (None where there is none)."""
    return {name: (None if p.grad is None else p.grad.detach().cpu().double().numpy())
            for name, p in module.named_parameters()}


def input_grads(fn: Callable, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call ``fn``, backpropagate the sum of its output; the output and the gradient of every
    tensor argument that requires grad (in argument order)."""
    output = fn(*args, **kwargs)
    tensor_out = output[0] if isinstance(output, (tuple, list)) else output
    if not torch.is_tensor(tensor_out) or not tensor_out.requires_grad:
        return {"output": output, "grads": None}
    tensor_out.sum().backward()
    grads = [a.grad for a in args if torch.is_tensor(a) and a.requires_grad]
    return {"output": output, "grads": grads}


def load_tensors(tensors: dict, arrays: dict[str, np.ndarray]) -> None:
    """Copy grader-chosen values into the tensors of a dict in place (e.g. MAML's ``params``), by
    name; dtypes follow the tensors. Unknown names or wrong shapes raise."""
    unknown = sorted(set(arrays) - set(tensors))
    if unknown:
        raise KeyError(f"no tensor named {unknown} in the dict (it has {sorted(tensors)})")
    with torch.no_grad():
        for name, value in arrays.items():
            target = tensors[name]
            source = torch.as_tensor(np.asarray(value), dtype=target.dtype, device=target.device)
            if source.shape != target.shape:
                raise ValueError(f"{name}: cannot load shape {list(source.shape)} into {list(target.shape)}")
            target.copy_(source)


def tensor_arrays(tensors: dict) -> dict[str, np.ndarray]:
    """Every tensor of a dict as a float64 array (``.detach()``ed), by name."""
    return {name: t.detach().cpu().double().numpy() for name, t in tensors.items() if torch.is_tensor(t)}
