"""hw3: the hidden graders' own references (autograder/hw3/conftest.py), run in-process against the
reference solution: the grader's fine-tuning loop is the notebook's loop (and tells a weight-decay or a
seed change apart), the grader's LoRA layer is peft's, and the alternatives and hostile submissions are
well-formed. Quick: tiny models, a few steps."""
from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from metakit.grading.authoring import notebook_module
from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT

pytest.importorskip("transformers")
pytest.importorskip("peft")

SOLUTION = REPO_ROOT / "solutions" / "hw3" / "hw3.ipynb"
GRADERS = REPO_ROOT / "autograder" / "hw3"


@pytest.fixture(scope="module")
def grader() -> types.ModuleType:
    """autograder/hw3/conftest.py as a module (not as a pytest conftest)."""
    spec = importlib.util.spec_from_file_location("hw3_grader_conftest", GRADERS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ref() -> types.ModuleType:
    return notebook_module(SOLUTION, "hw3_reference")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def state(model) -> dict:
    return {k: v.detach().double().numpy().copy() for k, v in model.state_dict().items() if v.is_floating_point()}


@pytest.mark.parametrize("mode,kwargs", [
    ("all", dict(steps=6, lr=3e-3, head_lr=3e-2, batch_size=4, seed=3)),
    ("last1", dict(steps=5, lr=1e-3, head_lr=2e-2, batch_size=5, seed=2)),
])
def test_grader_loop_is_the_notebook_loop(grader, ref, mode, kwargs) -> None:
    texts, labels = grader.TOY_TEXTS, grader.TOY_LABELS
    theirs = grader.local_tiny(3, seed=1)
    ref.finetune(theirs, (texts, torch.as_tensor(labels)), mode, **kwargs)
    ours = grader.local_tiny(3, seed=1)
    grader.grader_finetune(ours, texts, labels, mode, kwargs["steps"], kwargs["lr"], kwargs["head_lr"],
                           kwargs["batch_size"], kwargs["seed"])
    gap, _ = grader.weight_gap(state(theirs), state(ours))
    assert gap <= grader.WEIGHT_ATOL / 5, gap
    # The comparison can fail: another seed, or AdamW's default weight decay, is far outside it.
    other = grader.local_tiny(3, seed=1)
    ref.finetune(other, (texts, torch.as_tensor(labels)), mode, **{**kwargs, "seed": kwargs["seed"] + 1})
    assert grader.weight_gap(state(other), state(ours))[0] > 10 * grader.WEIGHT_ATOL
    decayed = grader.local_tiny(3, seed=1)
    grader.grader_choose(decayed, mode)
    original = torch.optim.AdamW
    try:
        torch.optim.AdamW = lambda groups, weight_decay=0.0, **k: original(groups, weight_decay=0.01, **k)
        ref.finetune(decayed, (texts, torch.as_tensor(labels)), mode, **kwargs)
    finally:
        torch.optim.AdamW = original
    assert grader.weight_gap(state(decayed), state(ours))[0] > 2 * grader.WEIGHT_ATOL


def test_grader_lora_layer_is_peft(grader) -> None:
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(5, 7)).astype(np.float32), rng.normal(size=5).astype(np.float32)
    a, b = rng.normal(size=(3, 7)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    x = rng.normal(size=(4, 7)).astype(np.float32)
    base = torch.nn.Linear(7, 5)
    with torch.no_grad():
        base.weight.copy_(torch.as_tensor(weight))
        base.bias.copy_(torch.as_tensor(bias))
    layer = grader.GraderLoRA.layer(base, a, b, 6.0 / 3)
    with torch.no_grad():
        ours = layer(torch.as_tensor(x)).double().numpy()
    np.testing.assert_allclose(ours, grader.peft_linear_output(weight, bias, a, b, 3, 6.0, x), atol=1e-5)


def test_weight_gap_ignores_only_key_biases(grader) -> None:
    expected = {"encoder.encoder.layer.0.attention.self.key.bias": np.zeros(3), "head.bias": np.zeros(3)}
    noisy = {"encoder.encoder.layer.0.attention.self.key.bias": np.ones(3), "head.bias": np.zeros(3)}
    assert grader.weight_gap(noisy, expected)[0] == 0.0
    assert grader.weight_gap({**noisy, "head.bias": np.full(3, 0.5)}, expected) == (0.5, "head.bias")


@pytest.mark.parametrize("folder", ["alternatives", "hostile"])
def test_submission_files_apply(folder, tmp_path) -> None:
    """Every alternative and hostile file applies to its base notebook and names known tests."""
    import ast

    names = set()
    for path in GRADERS.glob("test_*.py"):
        names |= {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)
                  and n.name.startswith("test_")}
    files = sorted((REPO_ROOT / "tests" / folder / "hw3").glob("*.py"))
    assert len(files) >= (3 if folder == "alternatives" else 4)
    for path in files:
        text = path.read_text().split("# %% grade_id:")[0]
        fields = {line.partition(":")[0].strip(): line.partition(":")[2].strip() for line in text.splitlines()
                  if ":" in line and line.partition(":")[0].strip() in ("tests", "base", "score")}
        tests = [t.strip() for t in fields["tests"].split(",")]
        assert set(tests) <= names, (path.name, set(tests) - names)
        base = fields.get("base", "reference")
        notebook = SOLUTION if base == "reference" else REPO_ROOT / "assignments" / "hw3" / "hw3.ipynb"
        apply_variant(notebook, load_variant(path), tmp_path / f"{path.stem}.ipynb")
        if folder == "hostile":
            float(fields["score"])
