"""Running hidden graders in this process, for calibration scripts, benchmarks and the kit's tests.

* :class:`LocalStudent` stands in for the ``student`` fixture
  (:class:`~metakit.grading.session.StudentSession`) on a module built from trusted notebook cells
  (the reference, or a known-wrong variant): no worker, no sandbox, the same calls and the same
  plain-data answers.
* :func:`file_module` loads a grader's (or a benchmark's) Python file as a module, without pytest.

Never for a student's submission: the grader runs those only in a sandboxed worker.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metakit.grading.wire import TensorArg


class LocalStudent:
    """The ``student`` fixture's calls, run in this process on a module built from notebook cells.

    Values come back as the worker would send them: tensors as numpy arrays, inside tuples, lists
    and dicts too; ``keep=True`` returns the object itself (standing in for a ``Ref``). Arguments
    made with :func:`~metakit.grading.wire.tensor` arrive as ``torch.Tensor``, as in the worker.
    """

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def _resolve(self, target: str) -> Any:
        """``"name"`` (of the module, dotted attributes allowed) or ``"module:attr"`` (a library's)."""
        if ":" in target:
            module_name, _, path = target.partition(":")
            obj = importlib.import_module(module_name)
        else:
            obj, path = self.module, target
        for part in filter(None, path.split(".")):
            obj = getattr(obj, part)
        return obj

    @staticmethod
    def _arg(value: Any) -> Any:
        if isinstance(value, TensorArg):
            t = torch.from_numpy(np.array(value.array))
            return t.requires_grad_(True) if value.requires_grad else t
        if isinstance(value, (list, tuple)):
            return type(value)(LocalStudent._arg(v) for v in value)
        if isinstance(value, dict):
            return {k: LocalStudent._arg(v) for k, v in value.items()}
        return value

    @staticmethod
    def _out(value: Any) -> Any:
        if torch.is_tensor(value):
            return value.detach().cpu().numpy()
        if isinstance(value, (list, tuple)):
            return type(value)(LocalStudent._out(v) for v in value)
        if isinstance(value, dict):
            return {k: LocalStudent._out(v) for k, v in value.items()}
        return value

    def call(self, target: str, *args: Any, keep: bool = False, **kwargs: Any) -> Any:
        value = self._resolve(target)(*self._arg(args), **self._arg(kwargs))
        return value if keep else self._out(value)

    def method(self, obj: Any, name: str, *args: Any, keep: bool = False, **kwargs: Any) -> Any:
        value = getattr(obj, name)(*self._arg(args), **self._arg(kwargs))
        return value if keep else self._out(value)

    def attr(self, obj: Any, name: str, keep: bool = False) -> Any:
        value = getattr(obj, name)
        return value if keep else self._out(value)

    def ref(self, target: str) -> Any:
        return self._resolve(target)


def file_module(path: str | Path, name: str, register: bool = False) -> types.ModuleType:
    """The Python file ``path`` run as a module called ``name`` (``register``: also put in
    ``sys.modules`` first, so that other files can import it by that name)."""
    spec = importlib.util.spec_from_file_location(name, Path(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
