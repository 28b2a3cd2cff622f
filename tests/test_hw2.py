"""hw2: the kit's few-shot pieces (metakit.fewshot) and the reference MAML's meta-gradient.

The reference solution is read from solutions/hw2/hw2.ipynb (instructors' side): its given and
solution cells are executed into a module, and its meta-gradient is checked against central
finite differences of the meta-loss in float64 on a tiny conv4 (2 filters).
"""
from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metakit import fewshot
from metakit.episodes import EpisodeSampler
from metakit.grading import harness
from metakit.grading.authoring import notebook_module
from metakit.grading.variants import apply_variant, load_variant
from metakit.paths import REPO_ROOT

SOLUTION = REPO_ROOT / "solutions" / "hw2" / "hw2.ipynb"
VARIANTS = REPO_ROOT / "tests" / "variants" / "hw2"


def load_reference(path: Path = SOLUTION) -> types.ModuleType:
    """Given and solution cells of a hw2 notebook (definitions only) as a module."""
    return notebook_module(path, "hw2_reference")


@pytest.fixture(scope="module")
def ref() -> types.ModuleType:
    return load_reference()


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convolutions: one thread is fastest, and far faster than two on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _images(chars: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (chars, 20, 28, 28), dtype=np.uint8)


# ----------------------------------------------------------------------------- functional conv4
def test_conv4_param_shapes_and_names():
    shapes = fewshot.conv4_param_shapes(num_ways=5, hidden=32)
    assert list(shapes) == ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
                            "conv3.weight", "bn3.weight", "bn3.bias", "conv4.weight", "bn4.weight", "bn4.bias",
                            "head.weight", "head.bias"]
    assert shapes["conv1.weight"] == (32, 1, 3, 3) and shapes["conv2.weight"] == (32, 32, 3, 3)
    assert shapes["head.weight"] == (5, 32 * 2 * 2)  # 28 -> 14 -> 7 -> 4 -> 2
    with pytest.raises(ValueError, match="too small"):
        fewshot.conv4_param_shapes(5, 8, image_size=8)


def test_conv4_forward_matches_module_and_functional_call():
    params = fewshot.conv4_init(num_ways=4, hidden=8, seed=3)
    x = torch.rand(6, 1, 28, 28)
    logits = fewshot.conv4_forward(params, x)
    assert logits.shape == (6, 4)
    module = fewshot.Conv4(4, 8)
    assert list(dict(module.named_parameters())) == list(params)
    assert not list(module.buffers()), "batch norm must keep no running statistics"
    assert torch.allclose(torch.func.functional_call(module, params, (x,)), logits, atol=1e-6)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(params[name])
    assert torch.allclose(module(x), logits, atol=1e-6)


def test_conv4_batch_norm_uses_batch_statistics():
    params = fewshot.conv4_init(num_ways=3, hidden=4, seed=0)
    x = torch.rand(8, 1, 28, 28)
    full = fewshot.conv4_forward(params, x)
    half = fewshot.conv4_forward(params, x[:4])
    assert not torch.allclose(full[:4], half, atol=1e-4), "outputs must depend on the batch (batch statistics)"
    # with unit scale and zero shift the first block's normalised activations have batch mean 0
    h = F.conv2d(x, params["conv1.weight"], stride=2, padding=1)
    normed = F.batch_norm(h, None, None, torch.ones(4), torch.zeros(4), training=True)
    assert normed.mean(dim=(0, 2, 3)).abs().max() < 1e-5


def test_conv4_init_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = fewshot.conv4_init(5, 8, seed=7)
    assert torch.equal(torch.rand(1), expected_next), "conv4_init must not consume the global random state"
    b = fewshot.conv4_init(5, 8, seed=7)
    c = fewshot.conv4_init(5, 8, seed=8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])
    assert all(p.is_leaf and p.requires_grad for p in a.values())
    d = fewshot.conv4_init(5, 8, dtype=torch.float64, device="cpu")
    assert all(p.dtype == torch.float64 for p in d.values())


def test_conv4_forward_errors_name_the_problem():
    params = fewshot.conv4_init(3, 4)
    with pytest.raises(ValueError, match=r"\[M, C, H, W\]"):
        fewshot.conv4_forward(params, torch.rand(3, 28, 28))
    with pytest.raises(KeyError, match="conv4 parameters"):
        fewshot.conv4_forward({"head.weight": params["head.weight"]}, torch.rand(2, 1, 28, 28))


def test_protonet_embedding_shapes_and_modes():
    model = fewshot.ProtoNetEmbedding(hidden=16)
    x = torch.rand(10, 1, 28, 28)
    assert model(x).shape == (10, 64)  # 16 filters x 2 x 2
    assert fewshot.ProtoNetEmbedding(hidden=16, downsample="pool")(x).shape == (10, 16)
    model.eval()
    one = model(x[:1])
    assert torch.allclose(one, model(x)[:1], atol=1e-5), "in eval mode an example's embedding must not depend on the batch"


# ----------------------------------------------------------------------------- tasks and helpers
def test_task_batch_shapes_and_labels():
    episodes = EpisodeSampler(_images(), ways=3, shots=2, queries=4, seed=0).sample(5)
    tasks = fewshot.task_batch(episodes)
    assert len(tasks) == 5
    support_x, support_y, query_x, query_y = tasks[0]
    assert support_x.shape == (6, 1, 28, 28) and query_x.shape == (12, 1, 28, 28)
    assert support_y.tolist() == [0, 0, 1, 1, 2, 2]
    assert query_y.dtype == torch.int64 and sorted(set(query_y.tolist())) == [0, 1, 2]
    assert torch.equal(support_x[2, 0], episodes.support[0, 1, 0])


def test_tensor_helpers_round_trip():
    """The grader tensor helpers (one home, ``metakit.grading.harness``; the hw2 wing does not import
    the grading package) on a dict of tensors and on a module."""
    assert not hasattr(fewshot, "tensor_arrays") and not hasattr(fewshot, "load_tensors")
    params = fewshot.conv4_init(3, 4)
    arrays = {name: np.full(p.shape, 0.5) for name, p in params.items()}
    harness.load_tensors(params, arrays)
    assert all(np.allclose(v, 0.5) for v in harness.tensor_arrays(params).values())
    assert all(g is None for g in harness.grad_arrays(params).values())
    fewshot.conv4_forward(params, torch.rand(4, 1, 28, 28)).sum().backward()
    grads = harness.grad_arrays(params)
    assert grads["head.bias"] is not None and grads["head.bias"].dtype == np.float64
    with pytest.raises(KeyError, match="no tensor named"):
        harness.load_tensors(params, {"nope": np.zeros(1)})
    with pytest.raises(ValueError, match="cannot load shape"):
        harness.load_tensors(params, {"head.bias": np.zeros(7)})
    linear = torch.nn.Linear(3, 2)
    assert harness.grad_arrays(linear) == {"weight": None, "bias": None}
    linear(torch.ones(1, 3)).sum().backward()
    module_grads = harness.grad_arrays(linear)
    assert sorted(module_grads) == ["bias", "weight"] and np.allclose(module_grads["bias"], 1.0)


# ----------------------------------------------------------------------------- loops
def test_train_and_evaluate_protonet(ref):
    torch.manual_seed(0)
    model = fewshot.ProtoNetEmbedding(hidden=8)
    train = EpisodeSampler(_images(), ways=3, shots=1, queries=2, seed=0)
    val = EpisodeSampler(_images(seed=1), ways=3, shots=1, queries=2, seed=1)
    before = [p.detach().clone() for p in model.parameters()]
    history = fewshot.train_protonet(ref.protonet_step, model, train, val, steps=4, meta_batch=2,
                                     eval_every=2, eval_episodes=3, log_every=1, progress=False)
    assert history.steps == 4 and history.train_steps == [1, 2, 3, 4] and history.eval_steps == [2, 4]
    assert sorted(history.train) == ["loss", "query_accuracy", "support_accuracy"]
    assert list(history.evaluation) == ["query_accuracy"] and history.seconds_per_step > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    result = fewshot.evaluate_protonet(ref.protonet_step, model, val, num_episodes=5, progress=False)
    again = fewshot.evaluate_protonet(ref.protonet_step, model, val, num_episodes=5, progress=False)
    assert result.accuracies.shape == (5,) and np.array_equal(result.accuracies, again.accuracies)
    assert "over 5 episodes" in str(result)
    assert history.plot() is not None


def test_train_protonet_rejects_a_detached_loss():
    def step(model, tasks):
        return torch.tensor(1.0), 0.5, 0.5

    sampler = EpisodeSampler(_images(), ways=3, shots=1, queries=1, seed=0)
    with pytest.raises(TypeError, match="depends on the model"):
        fewshot.train_protonet(step, fewshot.ProtoNetEmbedding(4), sampler, steps=1, progress=False)

    def short(model, tasks):
        return torch.tensor(1.0)

    with pytest.raises(TypeError, match="should return"):
        fewshot.train_protonet(short, fewshot.ProtoNetEmbedding(4), sampler, steps=1, progress=False)


def test_train_and_evaluate_maml(ref):
    maml = ref.MAML(num_ways=3, hidden=4, learn_inner_lrs=True, seed=0)
    train = EpisodeSampler(_images(), ways=3, shots=1, queries=2, seed=0)
    val = EpisodeSampler(_images(seed=1), ways=3, shots=1, queries=2, seed=1)
    history = fewshot.train_maml(maml, train, val, steps=3, meta_batch=2, eval_every=3, eval_episodes=2,
                                 log_every=1, progress=False, cosine=True)
    assert history.steps == 3 and len(history.train["loss"]) == 3 and history.eval_steps == [3]
    assert maml.optimizer.param_groups[0]["lr"] < 1e-12, "the cosine schedule ends at 0"
    frozen = {k: v.detach().clone() for k, v in maml.params.items()}
    result = fewshot.evaluate_maml(maml, val, num_episodes=4, progress=False)
    assert result.accuracies.shape == (4,)
    assert all(torch.equal(frozen[k], maml.params[k]) for k in frozen), "evaluation must not train"


# ----------------------------------------------------------------------------- meta-gradient vs finite differences
def _tiny_tasks(count: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(count):
        support_x = torch.tensor(rng.uniform(0, 1, (6, 1, 28, 28)))
        query_x = torch.tensor(rng.uniform(0, 1, (9, 1, 28, 28)))
        tasks.append((support_x, torch.tensor([0, 1, 2, 2, 1, 0]), query_x, torch.tensor([0, 1, 2] * 3)))
    return tasks


def _meta_gradient_check(module: types.ModuleType, first_order: bool = False) -> dict[str, float]:
    """Relative errors of the MAML meta-gradient against central finite differences of the meta-loss
    (float64, 3-way tiny conv4 with 2 filters, 2 tasks): for every parameter tensor, the derivative
    along a random direction within that tensor; for every learned inner rate, its derivative."""
    maml = module.MAML(num_ways=3, num_inner_steps=1, inner_lr=0.3, learn_inner_lrs=True, outer_lr=1.0,
                       first_order=first_order, hidden=2, outer_optimizer="sgd", seed=0, dtype=torch.float64)
    tasks = _tiny_tasks(2, seed=5)
    theta = {k: v.detach().clone() for k, v in maml.params.items()}
    lrs = {k: v.detach().clone() for k, v in maml.inner_lrs.items()}
    gen = torch.Generator().manual_seed(0)
    directions = {k: torch.randn(v.shape, generator=gen, dtype=torch.float64) for k, v in theta.items()}

    def meta_loss(new_theta: dict, new_lrs: dict) -> float:
        harness.load_tensors(maml.params, {k: v.numpy() for k, v in new_theta.items()})
        harness.load_tensors(maml.inner_lrs, {k: v.numpy() for k, v in new_lrs.items()})
        return float(maml.outer_step(tasks, train=False)[0])

    eps = 1e-6
    f64 = torch.float64
    fd_theta = torch.tensor([(meta_loss({**theta, k: theta[k] + eps * d}, lrs)
                              - meta_loss({**theta, k: theta[k] - eps * d}, lrs)) / (2 * eps)
                             for k, d in directions.items()], dtype=f64)
    fd_lrs = torch.tensor([(meta_loss(theta, {**lrs, k: lrs[k] + eps}) - meta_loss(theta, {**lrs, k: lrs[k] - eps}))
                           / (2 * eps) for k in lrs], dtype=f64)
    meta_loss(theta, lrs)  # restore
    maml.outer_step(tasks, train=True)  # SGD with learning rate 1: the change is the meta-gradient
    got_theta = torch.tensor([float(((theta[k] - maml.params[k].detach()) * d).sum()) for k, d in directions.items()],
                             dtype=f64)
    got_lrs = torch.tensor([float(lrs[k] - maml.inner_lrs[k].detach()) for k in lrs], dtype=f64)

    def rel(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).norm() / b.norm())

    return {"params": rel(got_theta, fd_theta), "lrs": rel(got_lrs, fd_lrs)}


def test_reference_meta_gradient_matches_finite_differences(ref):
    errors = _meta_gradient_check(ref)
    assert errors["params"] < 1e-6, errors
    assert errors["lrs"] < 1e-6, errors


def test_finite_difference_check_catches_a_first_order_gradient(ref):
    """The check above can fail: the first-order gradient is far from the true meta-gradient."""
    errors = _meta_gradient_check(ref, first_order=True)
    assert errors["params"] > 1e-2, errors


def test_finite_difference_check_catches_a_missing_create_graph(tmp_path):
    variant = load_variant(VARIANTS / "maml_no_create_graph.py")
    wrong = load_reference(apply_variant(SOLUTION, variant, tmp_path / "wrong.ipynb"))
    assert _meta_gradient_check(wrong)["params"] > 1e-2
