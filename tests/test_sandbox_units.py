"""Unit tests of the sandbox's pieces that need no worker: reply caps, frames, the jail's plan,
the trusted harness copies and the assignment config. (Workers themselves: test_grading_engine,
tests/hostile/, test_grader_errors.)"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metakit.grading import jail, wire
from metakit.grading.assignment import load_config
from metakit.grading.worker import trusted_copies
from metakit.paths import PACKAGE_DIR, REPO_ROOT


# ------------------------------------------------------------------ reply caps
def frame_with(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def json_member(document) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(document).encode(), dtype=np.uint8))
    return buffer.getvalue()


def test_a_normal_reply_passes_the_caps() -> None:
    data = wire.encode_message({"ok": True, "value": {"x": np.arange(10.0), "y": [1, 2, {"z": None}]}})
    decoded = wire.decode_message(data, limits=wire.ReplyLimits())
    assert decoded["ok"] and np.array_equal(decoded["value"]["x"], np.arange(10.0))


def test_compressed_replies_are_refused_before_decoding() -> None:
    bomb = frame_with({"__json__.npy": json_member({"ok": True}), "a0.npy": bytes(8 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 64 << 10, "the test bomb inflates about 1000-fold"
    with pytest.raises(wire.WireError, match="compressed"):
        wire.decode_message(bomb, limits=wire.ReplyLimits())


@pytest.mark.parametrize("limits, data, match", [
    (wire.ReplyLimits(frame_bytes=1000), wire.encode_message({"ok": True, "value": np.zeros(1000)}), "over the"),
    (wire.ReplyLimits(arrays=3), wire.encode_message({"ok": True, "value": [np.zeros(1)] * 5}), "arrays"),
    (wire.ReplyLimits(json_depth=10), wire.encode_message({"ok": True, "value": [[[[[[[[[[[[1]]]]]]]]]]]]}), "deeper"),
    (wire.ReplyLimits(), b"not a zip at all", "malformed"),
    (wire.ReplyLimits(), frame_with({"a0.npy": b"x"}), "no JSON"),
])
def test_caps_refuse_what_they_promise_to(limits, data, match) -> None:
    with pytest.raises(wire.WireError, match=match):
        wire.decode_message(data, limits=limits)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    data = wire.encode_message({"ok": True, "value": "[" * 500})
    assert wire.decode_message(data, limits=wire.ReplyLimits(json_depth=8))["value"] == "[" * 500


def test_frame_reader_refuses_an_oversized_header_before_reading_on() -> None:
    read, write = os.pipe()
    os.write(write, (10 << 20).to_bytes(8, "big") + b"x" * 100)
    reader = wire.FrameReader(read, limit=1 << 20)
    with pytest.raises(wire.WireError, match="over the"):
        while not reader.feed():
            pass
    os.close(read)
    os.close(write)


def test_frame_reader_reassembles_a_frame_from_chunks() -> None:
    read, write = os.pipe()
    payload = wire.encode_message({"ok": True, "value": 3})
    wire.write_frame(os.fdopen(write, "wb"), payload)
    reader = wire.FrameReader(read)
    while not reader.feed():
        pass
    assert reader.take() == payload
    os.close(read)


# ------------------------------------------------------------------ trusted harness copies
def test_patching_the_harness_does_not_reach_the_trusted_copies(monkeypatch) -> None:
    import torch

    import metakit.grading.harness as harness

    copies = trusted_copies()
    monkeypatch.setattr(harness, "state_arrays", lambda module: {"fake": np.zeros(1)})
    monkeypatch.setattr(harness, "torch", None)
    model = torch.nn.Linear(2, 1)
    arrays = copies["metakit.grading.harness:state_arrays"](model)
    assert set(arrays) == {"weight", "bias"}, "the copy runs the original code with the original globals"
    assert not any(name.startswith("metakit.grading.harness:_") for name in copies)


# ------------------------------------------------------------------ the jail's plan
def test_the_plan_binds_the_package_but_never_the_checkout(tmp_path: Path) -> None:
    private = [REPO_ROOT / "solutions", REPO_ROOT / "autograder", REPO_ROOT / "tests", REPO_ROOT / ".git"]
    plan = jail.plan_root(PACKAGE_DIR, private, data_paths=[REPO_ROOT / "data" / "intents"], hidden_paths=[tmp_path])
    readonly = set(plan.readonly)
    assert Path("/usr") in readonly and PACKAGE_DIR not in readonly
    copy = plan.binds[PACKAGE_DIR]
    assert (copy / "grading" / "worker.py").read_text() == (PACKAGE_DIR / "grading" / "worker.py").read_text()
    assert not [p for p in copy.rglob("*") if p.is_file() and p.suffix != ".py"], "only the package's sources"
    assert REPO_ROOT not in readonly, "the checkout holds the solutions and graders"
    for path in readonly:
        assert not any(p == path or path in p.parents for p in private), f"{path} would show {private}"
        assert not (path == tmp_path or tmp_path in path.parents or path in tmp_path.parents), path
    assert any(Path(os.path.realpath(p)) in readonly or any(Path(os.path.realpath(p)).is_relative_to(r) for r in readonly)
               for p in jail.clean_sys_path() if p.endswith("site-packages")), "site-packages must be visible"


def test_a_hidden_path_inside_an_allowed_folder_gets_covered(tmp_path: Path) -> None:
    secret = Path(jail.clean_sys_path()[-1])
    plan = jail.plan_root(PACKAGE_DIR, [], hidden_paths=[secret])
    plan.readonly.append(secret.parent)
    plan.covers = [secret]
    assert secret in plan.covers
    script = jail.setup_script(plan, tmp_path / "root", ["python", "-c", "pass"])
    assert f"metakit-hidden {tmp_path / 'root'}{secret}" in script
    assert "pivot_root" in script and "--reuid=65534" in script and "--no-new-privs" in script


def test_minimal_drops_nested_paths() -> None:
    assert jail.minimal([Path("/a/b"), Path("/a"), Path("/c"), Path("/a/b/c")]) == [Path("/a"), Path("/c")]


def test_without_root_the_worker_enters_a_nested_user_namespace(tmp_path: Path) -> None:
    script = jail.setup_script(jail.RootPlan(), tmp_path, ["python"], as_root=False)
    assert "--map-user=65534" in script and "--reuid" not in script
    assert jail.unshare_command(script, as_root=False)[1:3] == ["--user", "--map-root-user"]


# ------------------------------------------------------------------ assignment config
def test_assignment_config_is_read_and_checked(tmp_path: Path) -> None:
    assert load_config("hw3", REPO_ROOT).extras == ["lm"]
    assert load_config("hw3", REPO_ROOT).data == ["data/intents"]
    assert load_config("hw3", REPO_ROOT).extras_spec() == "[lm]"
    assert load_config("hw_example", REPO_ROOT).extras_spec() == ""
    folder = tmp_path / "autograder" / "hwx"
    folder.mkdir(parents=True)
    for text, match in (("extras = [", "not valid TOML"), ("colour = 1", "unknown settings"),
                        ('data = ["../x"]', "inside the kit root"), ('data = ["missing"]', "does not exist"),
                        ('preload = ["os; import x"]', "not a module name"), ("preload = [3]", "not a module name"),
                        ('extras = "lm"', "want a list"), ('extras = ["lm;rm"]', "want a list"), ("extras = [1]", "want a list")):
        (folder / "assignment.toml").write_text(text)
        with pytest.raises(ValueError, match=match):
            load_config("hwx", tmp_path)


def test_assignment_extras_must_be_extras_of_the_kit(tmp_path: Path) -> None:
    """An extra the kit's pyproject.toml does not declare is refused (the Gradescope zip's setup.sh
    would fail to install it); without a pyproject.toml (a test's kit root) any well-formed name goes."""
    folder = tmp_path / "autograder" / "hwx"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text('extras = ["lm", "gpu"]\n')
    assert load_config("hwx", tmp_path).extras_spec() == "[lm,gpu]"
    (tmp_path / "pyproject.toml").write_text((REPO_ROOT / "pyproject.toml").read_text())
    with pytest.raises(ValueError, match=r"extras \['gpu'\] are not extras of the kit"):
        load_config("hwx", tmp_path)
    (folder / "assignment.toml").write_text('extras = ["lm"]\n')
    assert load_config("hwx", tmp_path).extras == ["lm"]


def test_zygote_preload_lists_and_imports() -> None:
    """hw3's zygote preloads the kit's transformers loaders (BERT, Llama), hw_example's nothing; an entry that fails
    to import is reported, not fatal (the worker meets the same error where it imports it)."""
    from metakit.grading.zygote import preload

    assert load_config("hw3", REPO_ROOT).preload == ["metakit.lm:preload", "metakit.causal_lm:preload"]
    assert load_config("hw_example", REPO_ROOT).preload == []
    done, failed = preload(["json", "metakit.stats", "no_such_module_here", "json:no_such_function"])
    assert done == ["json", "metakit.stats"]
    assert set(failed) == {"no_such_module_here", "json:no_such_function"}
    assert "ModuleNotFoundError" in failed["no_such_module_here"]


def test_a_real_zygote_preloads_what_it_is_told(capsys) -> None:
    from metakit.grading.sandbox import SandboxConfig, Zygote

    zygote = Zygote(SandboxConfig(preload=["metakit.stats", "no_such_module_here"], isolation="process"), "process")
    try:
        assert zygote.preloaded == ["metakit.stats"]
    finally:
        zygote.close()
    assert "could not preload no_such_module_here" in capsys.readouterr().err


def test_the_wire_keeps_zero_dimensional_values_zero_dimensional() -> None:
    import torch

    sent = {"scalar_tensor": torch.tensor(1.5), "scalar_array": np.array(2.5), "transposed": np.arange(6.0).reshape(2, 3).T}
    back = wire.decode_message(wire.encode_message(sent))
    assert np.shape(back["scalar_tensor"]) == () and np.shape(back["scalar_array"]) == ()
    assert np.array_equal(back["transposed"], sent["transposed"])
    arrived = wire.decode_message(wire.encode_message({"x": wire.tensor(np.float64(0.5))}),
                                  make_tensor=lambda a, g: torch.from_numpy(a.copy()))
    assert arrived["x"].shape == torch.Size([]), "a 0-d tensor sent to the worker stays 0-d"
