"""metakit.grading.local: the in-process stand-in for the ``student`` fixture (calibration scripts)
and the loader of a grader's file as a module."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from metakit.grading.authoring import notebook_module
from metakit.grading.local import LocalStudent, file_module
from metakit.grading.wire import tensor
from metakit.paths import REPO_ROOT

REFERENCE = REPO_ROOT / "solutions" / "hw_example" / "hw_example.ipynb"


def test_local_student_answers_plain_data_like_the_worker() -> None:
    student = LocalStudent(notebook_module(REFERENCE, "hw_example_reference"))
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    probs = student.call("softmax", tensor(logits))
    assert isinstance(probs, np.ndarray) and np.allclose(probs.sum(axis=1), 1.0)
    kept = student.call("softmax", tensor(logits), keep=True)
    assert torch.is_tensor(kept)
    assert student.call("numpy:add", [1, 2], 3).tolist() == [4, 5]        # a library callable, "module:attr"
    pair = student.call("builtins:tuple", [tensor(logits), {"x": tensor(logits)}])   # nested arguments arrive as tensors
    assert isinstance(pair, tuple) and isinstance(pair[0], np.ndarray) and isinstance(pair[1]["x"], np.ndarray)
    generator = student.call("torch:Generator", keep=True)
    assert student.attr(generator, "device", keep=True) == torch.device("cpu")
    assert student.method(torch.zeros(2), "add", tensor(np.ones(2, dtype=np.float32))).tolist() == [1.0, 1.0]
    with pytest.raises(AttributeError):
        student.call("no_such_function")


def test_file_module_runs_a_file_and_registers_it_when_asked(tmp_path: Path) -> None:
    (tmp_path / "grader_constants.py").write_text("THRESHOLD = 0.65\n")
    module = file_module(tmp_path / "grader_constants.py", "h18a_grader_constants")
    assert module.THRESHOLD == 0.65 and "h18a_grader_constants" not in sys.modules
    try:
        registered = file_module(tmp_path / "grader_constants.py", "h18a_grader_constants", register=True)
        assert sys.modules["h18a_grader_constants"] is registered
    finally:
        sys.modules.pop("h18a_grader_constants", None)
    with pytest.raises((ImportError, FileNotFoundError)):
        file_module(tmp_path / "missing.py", "h18a_missing")
