"""hw3: the hidden graders' own references (autograder/hw3/conftest.py), run in-process against the
reference solution: the grader's fine-tuning loop is the notebook's loop (and tells a weight-decay or a
seed change apart), the grader's LoRA layer is peft's, and the alternatives and hostile submissions are
well-formed. Quick: tiny models, a few steps."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from metakit.grading.authoring import notebook_module
from metakit.grading.local import file_module
from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT

pytest.importorskip("transformers")
pytest.importorskip("peft")

SOLUTION = REPO_ROOT / "solutions" / "hw3" / "hw3.ipynb"
GRADERS = REPO_ROOT / "autograder" / "hw3"


@pytest.fixture(scope="module")
def grader() -> types.ModuleType:
    """autograder/hw3/conftest.py as a module (not as a pytest conftest)."""
    return file_module(GRADERS / "conftest.py", "hw3_grader_conftest")


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


# --------------------------------------------------------------------------- parts 6-7: prompting graders
@pytest.fixture(scope="module")
def prompting() -> types.ModuleType:
    """autograder/hw3/test_prompting.py as a module (its conftest importable as `conftest`)."""
    sys.path.insert(0, str(GRADERS))
    try:
        module = file_module(GRADERS / "test_prompting.py", "hw3_grader_prompting")
    finally:
        sys.path.remove(str(GRADERS))
    return module


def test_grader_prompt_is_the_notebook_prompt(prompting, ref) -> None:
    texts, labels, queries, names = prompting.episode_texts(12, 4, 3)
    for template in (prompting.PLAIN, prompting.INSTRUCT, prompting.ODD):
        assert prompting.grader_prompt(texts, labels, queries[0], names, template) == \
            ref.build_prompt((texts, torch.tensor(labels)), queries[0], names, template)
    assert prompting.PLAIN == ref.PLAIN_TEMPLATE and prompting.INSTRUCT == ref.INSTRUCT_TEMPLATE
    # The comparison can fail: another order of the same examples is another prompt.
    assert prompting.grader_prompt(texts[::-1], labels[::-1], queries[0], names, prompting.PLAIN) != \
        ref.build_prompt((texts, labels), queries[0], names, prompting.PLAIN)


def test_grader_scores_are_the_notebook_scores_and_tell_sum_from_mean(prompting, ref) -> None:
    """The grader's plain computation equals the reference's cached, batched one within TINY_ATOL, and a
    mean over label tokens, or positions read one late, are far outside it."""
    model, tokenizer = prompting.local_tiny_llama()
    expected = prompting.grader_scores(model, tokenizer, prompting.PROMPTS, prompting.LABELS)
    with torch.no_grad():
        ours = ref.label_log_likelihoods(model, tokenizer, prompting.PROMPTS, prompting.LABELS).double().numpy()
    assert np.abs(ours - expected).max() < prompting.TINY_ATOL / 10
    lengths = np.array([len(tokenizer(" " + n, add_special_tokens=False)["input_ids"]) for n in prompting.LABELS])
    assert np.abs(expected / lengths - expected).max() > 100 * prompting.TINY_ATOL
    # The tiny model is far from uniform: reading the log-probability one position late is far outside it.
    ids = torch.tensor([tokenizer(prompting.PROMPTS[0])["input_ids"] + tokenizer(" weather", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        logp = model(ids).logits[0].double().log_softmax(-1)
    start = len(tokenizer(prompting.PROMPTS[0])["input_ids"])
    late = sum(float(logp[p, ids[0, p]]) for p in range(start, ids.shape[1]))
    assert abs(late - expected[0, 1]) > 100 * prompting.TINY_ATOL
