"""The wire format between the grading process and a student worker: npz + JSON, never pickle.

A message is one frame: an 8-byte big-endian length, then an ``.npz`` archive holding a JSON
document (``__json__``, utf-8 bytes as uint8) and the arrays it refers to. Values are encoded as
a JSON tree in which

* ``{"__nd__": "a0"}`` is a numpy array stored in the archive (``"torch": true`` when it was, or
  should become, a ``torch.Tensor``; ``"grad": true`` for ``requires_grad``),
* ``{"__ref__": 7, "type": "MANN"}`` is a handle to an object that stays in the worker,
* ``{"__tuple__": [...]}`` is a tuple, ``{"__float__": "nan"}`` a non-finite float,
* ``{"__dict__": [[key, value], ...]}`` a dict whose keys are not all strings.

Decoding uses ``np.load(..., allow_pickle=False)`` and ``json.loads``: a hostile worker can send
wrong values, but never code, and never an object whose methods it wrote. Every frame from a worker
is capped before it is decoded (:class:`ReplyLimits`): its size, its members' sizes as stored
(members must be stored, not compressed, so nothing inflates in the grading process), the number
of arrays and the JSON document's length and depth.
"""
from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MAX_FRAME_BYTES = 512 * 2**20
_HEADER = struct.Struct(">Q")
HEADER_BYTES = _HEADER.size


class WireError(RuntimeError):
    """A frame that cannot be read: truncated, too large, or not npz + JSON."""


@dataclass(frozen=True)
class ReplyLimits:
    """Caps on one frame from a worker, checked before anything in it is decoded."""

    frame_bytes: int = 256 * 2**20
    arrays: int = 10_000
    json_chars: int = 16 * 2**20
    json_depth: int = 64


def check_reply(data: bytes, limits: ReplyLimits = ReplyLimits()) -> None:
    """Raise :class:`WireError` unless ``data`` (a frame's payload) is within ``limits``.

    An npz is a zip: every member must be stored uncompressed, so the decoded size is at most the
    frame's size, and the members' declared sizes must add up to no more than the frame holds.
    """
    if len(data) > limits.frame_bytes:
        raise WireError(f"a reply of {len(data) / 2**20:.1f} MiB is over the {limits.frame_bytes / 2**20:.0f} MiB limit")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise WireError(f"malformed message from the other side: {exc}") from None
    if len(members) > limits.arrays + 1:
        raise WireError(f"a reply of {len(members)} arrays is over the limit of {limits.arrays}")
    if any(m.compress_type != zipfile.ZIP_STORED for m in members):
        raise WireError("a reply with compressed members is not accepted")
    if sum(m.file_size for m in members) > len(data):
        raise WireError("a reply whose members claim more bytes than it holds is not accepted")
    json_member = next((m for m in members if m.filename == "__json__.npy"), None)
    if json_member is None:
        raise WireError("malformed message from the other side: no JSON document")
    if json_member.file_size > limits.json_chars:
        raise WireError(f"a reply's JSON document of {json_member.file_size} bytes is over the limit")


def _json_depth_ok(text: str, limit: int) -> bool:
    """True when no bracket nesting in ``text`` goes deeper than ``limit`` (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


@dataclass(frozen=True)
class Ref:
    """A handle to an object that lives in the worker (a model, a generator, ...)."""

    id: int
    type: str = "object"

    def __repr__(self) -> str:
        return f"<worker object #{self.id}: {self.type}>"


@dataclass(frozen=True)
class TensorArg:
    """Marks an array that should arrive in the worker as a ``torch.Tensor``."""

    array: np.ndarray
    requires_grad: bool = False


def tensor(array: Any, requires_grad: bool = False) -> TensorArg:
    """Send ``array`` to the worker as a ``torch.Tensor`` (float64 stays float64)."""
    return TensorArg(np.asarray(array), requires_grad)


# --------------------------------------------------------------------------- encode
class _Encoder:
    def __init__(self, to_ref=None) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.to_ref = to_ref

    def _array(self, arr: np.ndarray, **flags: Any) -> dict:
        if arr.dtype == object or arr.dtype.kind not in "biufcUS?":
            raise TypeError(f"cannot send an array of dtype {arr.dtype}")
        key = f"a{len(self.arrays)}"
        # np.ascontiguousarray would turn a 0-d array (a scalar loss) into shape [1]
        self.arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return {"__nd__": key, **{k: v for k, v in flags.items() if v}}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, Ref):
            return {"__ref__": value.id, "type": value.type}
        if isinstance(value, TensorArg):
            return self._array(value.array, torch=True, grad=value.requires_grad)
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, np.generic):
            return self.encode(value.item())
        if _is_tensor(value):
            return self._array(_tensor_to_numpy(value), torch=True)
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v) for k, v in value.items()}
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if self.to_ref is not None:
            return self.encode(self.to_ref(value))
        raise TypeError(f"cannot send a value of type {type(value).__name__}")


def _is_tensor(value: Any) -> bool:
    mod = type(value).__module__
    return mod.startswith("torch") and type(value).__name__ in ("Tensor", "Parameter")


def _tensor_to_numpy(t: Any) -> np.ndarray:
    t = t.detach().cpu()
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return t.numpy()


def encode_message(message: dict, to_ref=None) -> bytes:
    """Encode a JSON-able dict whose values may hold arrays, tensors and refs."""
    encoder = _Encoder(to_ref)
    document = encoder.encode(message)
    payload = json.dumps(document).encode()
    buffer = io.BytesIO()
    np.savez(buffer, __json__=np.frombuffer(payload, dtype=np.uint8), **encoder.arrays)
    return buffer.getvalue()


# --------------------------------------------------------------------------- decode
def decode_message(data: bytes, make_tensor=None, resolve_ref=None,
                   limits: ReplyLimits | None = None) -> dict:
    """Decode a frame's payload. ``make_tensor``/``resolve_ref`` are used in the worker only;
    the grading process passes ``limits`` for every reply from a worker."""
    if limits is not None:
        check_reply(data, limits)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        text = arrays.pop("__json__").tobytes().decode()
        if limits is not None and not _json_depth_ok(text, limits.json_depth):
            raise WireError(f"a reply nested deeper than {limits.json_depth} levels is not accepted")
        return _decode(json.loads(text), arrays, make_tensor, resolve_ref)
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed frame is one error
        raise WireError(f"malformed message from the other side: {type(exc).__name__}: {exc}") from None


def _decode(node: Any, arrays: dict, make_tensor, resolve_ref) -> Any:
    rec = lambda v: _decode(v, arrays, make_tensor, resolve_ref)  # noqa: E731
    if isinstance(node, list):
        return [rec(v) for v in node]
    if not isinstance(node, dict):
        return node
    if "__nd__" in node:
        arr = arrays[node["__nd__"]]
        if node.get("torch") and make_tensor is not None:
            return make_tensor(arr, bool(node.get("grad")))
        return arr
    if "__ref__" in node:
        ref = Ref(int(node["__ref__"]), str(node.get("type", "object")))
        return resolve_ref(ref) if resolve_ref is not None else ref
    if "__tuple__" in node:
        return tuple(rec(v) for v in node["__tuple__"])
    if "__float__" in node:
        return float(node["__float__"])
    if "__dict__" in node:
        return {_hashable(rec(k)): rec(v) for k, v in node["__dict__"]}
    return {k: rec(v) for k, v in node.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


# --------------------------------------------------------------------------- frames
def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: BinaryIO, limit: int = MAX_FRAME_BYTES) -> bytes:
    header = _read_exact(stream, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > limit:
        raise WireError(f"message of {size / 2**20:.0f} MiB is over the {limit / 2**20:.0f} MiB limit")
    return _read_exact(stream, size)


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class FrameReader:
    """Reads frames from a file descriptor a chunk at a time, so the caller can keep a deadline.

    ``feed()`` reads what is there (call it when ``select`` says the fd is readable) and returns
    True when a whole frame has arrived; ``take()`` returns it. A header that announces more than
    ``limit`` bytes raises :class:`WireError` before anything more is read.
    """

    def __init__(self, fd: int, limit: int = MAX_FRAME_BYTES) -> None:
        self.fd, self.limit = fd, limit
        self.buffer = bytearray()
        self.size: int | None = None

    def feed(self) -> bool:
        wanted = HEADER_BYTES if self.size is None else HEADER_BYTES + self.size
        chunk = os.read(self.fd, min(1 << 20, wanted - len(self.buffer)))
        if not chunk:
            raise EOFError("the other side closed the connection")
        self.buffer += chunk
        if self.size is None and len(self.buffer) >= HEADER_BYTES:
            (self.size,) = _HEADER.unpack(bytes(self.buffer[:HEADER_BYTES]))
            if self.size > self.limit:
                raise WireError(f"a message of {self.size / 2**20:.0f} MiB is over the "
                                f"{self.limit / 2**20:.0f} MiB limit")
        return self.size is not None and len(self.buffer) >= HEADER_BYTES + self.size

    def take(self) -> bytes:
        payload = bytes(self.buffer[HEADER_BYTES:])
        self.buffer, self.size = bytearray(), None
        return payload


def fd_stream(fd: int, mode: str) -> BinaryIO:
    return os.fdopen(fd, mode, buffering=0) if "r" in mode else os.fdopen(fd, mode)
