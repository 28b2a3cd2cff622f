"""Intake keeps definitions only; the wire format carries plain data and refuses everything else."""
from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from metakit.grading import wire
from metakit.grading.intake import definitions_only, to_python


def test_definitions_are_kept_and_runs_are_blanked_on_their_lines() -> None:
    code = (
        "import torch\n"
        "HIDDEN = 128\n"
        "model = train(steps=10_000)\n"
        "def f(x):\n"
        "    return x\n"
        "print(f(1))\n"
        "for i in range(3):\n"
        "    pass\n"
        "class A:\n"
        "    pass\n"
    )
    kept = definitions_only(code).splitlines()
    assert kept[0] == "import torch" and kept[1] == "HIDDEN = 128"
    assert kept[2] == "" and kept[5] == "" and kept[6] == "" and kept[7] == ""
    assert kept[3] == "def f(x):" and kept[8] == "class A:"


def test_guarded_imports_are_kept_but_calls_in_assignments_are_not() -> None:
    code = "try:\n    import scipy\nexcept ImportError:\n    scipy = None\nDEVICE = torch.device('cpu')\n"
    kept = definitions_only(code)
    assert "import scipy" in kept and "scipy = None" in kept and "DEVICE" not in kept


def test_statements_sharing_a_line_are_rebuilt() -> None:
    kept = definitions_only("x = 1; train()\n")
    assert "x = 1" in kept and "train" not in kept


def test_magics_become_python_and_are_dropped() -> None:
    code = to_python("%matplotlib inline\n!pip install foo\ndef g():\n    return 2\n")
    kept = definitions_only(code)
    assert "def g" in kept and "get_ipython" not in kept


def test_syntax_error_is_raised_for_the_caller() -> None:
    with pytest.raises(SyntaxError):
        definitions_only("def f(:\n")


def roundtrip(value, **kw):
    return wire.decode_message(wire.encode_message({"v": value}, **kw))["v"]


def test_plain_data_round_trips() -> None:
    value = {"a": [1, 2.5, None, True, "s"], "t": (1, 2), "nan": float("nan"),
             "arr": np.arange(6, dtype=np.int16).reshape(2, 3), "ten": torch.ones(2, dtype=torch.float64),
             3: "int key"}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, None, True, "s"] and back["t"] == (1, 2) and np.isnan(back["nan"])
    assert back["arr"].dtype == np.int16 and back["arr"].shape == (2, 3)
    assert back["ten"].dtype == np.float64 and back[3] == "int key"


def test_objects_become_refs_only_when_the_sender_allows_it() -> None:
    class Model:
        pass

    with pytest.raises(TypeError):
        wire.encode_message({"v": Model()})
    store = []
    ref = roundtrip(Model(), to_ref=lambda obj: store.append(obj) or wire.Ref(len(store), type(obj).__name__))
    assert isinstance(ref, wire.Ref) and ref.type == "Model" and len(store) == 1


def test_pickled_arrays_are_refused() -> None:
    buffer = io.BytesIO()
    payload = np.frombuffer(b'{"v": {"__nd__": "a0"}}', dtype=np.uint8)
    np.savez(buffer, __json__=payload, a0=np.array([object()], dtype=object))
    with pytest.raises(wire.WireError):
        wire.decode_message(buffer.getvalue())
    with pytest.raises(wire.WireError):
        wire.decode_message(pickle.dumps({"v": 1}))


def test_frames_over_the_limit_are_refused() -> None:
    stream = io.BytesIO()
    wire.write_frame(stream, b"x" * 100)
    stream.seek(0)
    with pytest.raises(wire.WireError, match="over the"):
        wire.read_frame(stream, limit=10)
