"""Helpers a hidden test may call inside the student's worker (``"metakit.grading.harness:..."``).

They run next to student code, so the grader trusts nothing they return: they only turn objects
that cannot cross the wire (modules, gradients) into plain arrays for the test to check. They never
contain an answer to an assignment.
"""
from __future__ import annotations

import dataclasses
import random
import re
from typing import Any, Callable, Mapping

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
    """Name -> {"shape", "requires_grad", "device"} for every parameter (device as ``"cpu"``, ``"meta"``,
    ``"cuda:0"``)."""
    return {name: {"shape": list(p.shape), "requires_grad": bool(p.requires_grad), "device": str(p.device)}
            for name, p in module.named_parameters()}


def parameters_named(module: torch.nn.Module, names: list[str]) -> list[torch.nn.Parameter]:
    """The parameters of ``module`` called ``names``, in that order (a tied parameter answers to each of its
    names, e.g. a Llama's ``lm_head.weight`` and ``model.embed_tokens.weight``); KeyError for a name it lacks."""
    by_name = dict(module.named_parameters(remove_duplicate=False))
    missing = [name for name in names if name not in by_name]
    if missing:
        raise KeyError(f"the module has no parameters named {', '.join(missing)}")
    return [by_name[name] for name in names]


def load_arrays(module: torch.nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Copy grader-chosen values into parameters/buffers (by name; dtypes follow the module)."""
    state = module.state_dict()
    with torch.no_grad():
        for name, value in arrays.items():
            state[name].copy_(torch.as_tensor(value, dtype=state[name].dtype))


def grad_arrays(source: torch.nn.Module | Mapping[str, torch.Tensor]) -> dict[str, np.ndarray | None]:
    """The ``.grad`` of every parameter of a module, or of every tensor of a dict (e.g. MAML's
    ``params``), as float64 arrays by name (None where there is none)."""
    tensors = source.named_parameters() if isinstance(source, torch.nn.Module) else source.items()
    return {name: (None if t.grad is None else t.grad.detach().cpu().double().numpy()) for name, t in tensors}


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


def load_tensors(tensors: Mapping[str, torch.Tensor], arrays: dict[str, np.ndarray]) -> None:
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


def tensor_arrays(tensors: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every tensor of a dict as a float64 array (``.detach()``ed), by name."""
    return {name: t.detach().cpu().double().numpy() for name, t in tensors.items() if torch.is_tensor(t)}


def output_devices(fn: Callable, *args: Any, device: str = "meta", **kwargs: Any) -> list[str]:
    """Call ``fn`` with every tensor argument (and every tensor field of a dataclass argument, such
    as :class:`~metakit.episodes.Episodes`) moved to ``device``; the device of each tensor it returns
    (a tensor, or a tuple or list of them), in order. On ``"meta"`` (shapes only, no data) this tells
    on a CPU-only machine whether code keeps its outputs on its inputs' device, as a GPU needs."""
    def moved(value: Any) -> Any:
        if torch.is_tensor(value):
            return value.to(device)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: getattr(value, f.name).to(device) for f in dataclasses.fields(value)
                       if torch.is_tensor(getattr(value, f.name))}
            return dataclasses.replace(value, **changes)
        return value

    try:
        output = fn(*map(moved, args), **{k: moved(v) for k, v in kwargs.items()})
    except Exception as exc:  # noqa: BLE001 - the grader reads which kind of failure it was
        return [f"error: {type(exc).__name__}: {exc}"[:400]]
    outputs = output if isinstance(output, (tuple, list)) else [output]
    return [str(t.device) if torch.is_tensor(t) else type(t).__name__ for t in outputs]


def require_inputs_on_device(model: torch.nn.Module) -> None:
    """Make ``model`` refuse, as a GPU would, a call whose tensor arguments (positional or keyword;
    not those nested in a cache object) are not on the device of its parameters.

    On PyTorch's ``meta`` device an embedding lookup takes CPU token ids without a word, where a
    model on a GPU fails ("Expected all tensors to be on the same device"); with this pre-hook the
    ``meta`` run fails the same way, with an error :func:`devices_verdict` reads as a device mismatch.
    """
    device = next(model.parameters()).device

    def check(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        named = [(f"argument {i}", a) for i, a in enumerate(args)] + list(kwargs.items())
        for name, value in named:
            if torch.is_tensor(value) and value.device != device:
                raise RuntimeError(f"the model got {name} on {value.device}, but its parameters are on {device}: "
                                   f"not on the expected device (a GPU run fails here)")

    model.register_forward_pre_hook(check, with_kwargs=True)


def move_submodule(model: torch.nn.Module, name: str, device: str = "meta") -> torch.nn.Module:
    """Move ``model.<name>`` (say a classifier's ``head``) to ``device``, its inputs moved there with it
    by a pre-hook; the rest stays where it is. Where a model reads its device from that submodule
    (``SentenceClassifier.device`` is its head's), its outputs and ``model.device`` are then on
    ``device``, so code that makes a tensor on the CPU for them fails there, as on a GPU, even where
    the whole model cannot run on ``meta``. Returns ``model``."""
    submodule = model.get_submodule(name).to(device)

    def move_inputs(module: torch.nn.Module, args: tuple) -> tuple:
        return tuple(a.to(device) if torch.is_tensor(a) else a for a in args)

    submodule.register_forward_pre_hook(move_inputs)
    return model


def encoder_masks(model: torch.nn.Module, *args: Any, **kwargs: Any) -> list[np.ndarray | None]:
    """Call ``model(*args, **kwargs)`` and return the attention mask each ``nn.TransformerEncoder``
    inside it was given, in call order, as a bool array (``[L, L]``, or ``[B * heads, L, L]`` as given;
    ``True`` = may not attend; an additive float mask counts ``-inf`` and anything below ``-1e4`` as
    blocked), or None for a call without a mask. An empty list: the model called no
    ``nn.TransformerEncoder``."""
    masks: list[np.ndarray | None] = []

    def record(module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        mask = kwargs.get("mask", args[1] if len(args) > 1 else None)
        if mask is None:
            masks.append(None)
            return
        mask = mask.detach().cpu()
        masks.append((mask if mask.dtype == torch.bool else mask < -1e4).numpy())

    hooks = [m.register_forward_pre_hook(record, with_kwargs=True)
             for m in model.modules() if isinstance(m, torch.nn.TransformerEncoder)]
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return masks


META_WORD = re.compile(r"\bmeta\b", re.IGNORECASE)
DEVICE_MISMATCH = ("expected device", "same device", "different devices", "not on the expected device")


def devices_verdict(devices: list[str], device: str = "meta") -> str:
    """From :func:`output_devices`: ``"ok"`` (every output on ``device``), ``"inconclusive"`` (the
    code needs tensor values, which ``"meta"`` has none of, e.g. ``.item()``: correct code may do
    that) or the problem in words (an output elsewhere, a device-mismatch error, any other error)."""
    if len(devices) == 1 and devices[0].startswith("error: "):
        error = devices[0][len("error: "):]
        # PyTorch names the meta device as a word ("... on meta tensors"); "metakit" is not it
        needs_values = bool(META_WORD.search(error)) and not any(m in error.lower() for m in DEVICE_MISMATCH)
        return "inconclusive" if needs_values else f"it raised {error}"
    elsewhere = [d for d in devices if d != device]
    return "ok" if not elsewhere else f"outputs on {devices} for inputs on {device}"
