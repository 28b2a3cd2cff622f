"""Fast tests of metakit.multitask (hw0's kit: tasks, training loop, baselines, checks, plots)."""
from __future__ import annotations


import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch import nn

from metakit.data.charset import CharacterSet
from metakit.multitask import (
    MultiTaskNet,
    ProbeNet,
    Task,
    TaskBatch,
    TaskSet,
    build_taskset,
    conflicting_task,
    evaluate,
    image_attribute,
    load_omniglot_alphabets,
    plot_mean_curves,
    plot_task_examples,
    plot_task_scores,
    score_table,
    split_drawers,
    task_loss,
    task_score,
    taskset_from_arrays,
    taskset_to_arrays,
    train_independent,
    train_multitask,
    transfer,
)
from metakit.grading.local import file_module
from metakit.paths import REPO_ROOT


# ------------------------------------------------------------------ fixtures
def tiny_charset(alphabets: int = 3, per_alphabet: int = 4, drawers: int = 8, seed: int = 0) -> CharacterSet:
    """Random blobs with glyph-style manifest entries (fast; no generator)."""
    rng = np.random.default_rng(seed)
    images = (rng.random((alphabets * per_alphabet, drawers, 28, 28)) > 0.8).astype(np.uint8) * 255
    manifest = []
    for a in range(alphabets):
        for c in range(per_alphabet):
            manifest.append({"alphabet": f"A{a}", "character": f"c{c:02d}", "strokes": int(1 + (a + c) % 4),
                             "has_curve": bool(c % 2), "has_loop": bool((a + c) % 3 == 0), "has_dot": False})
    return CharacterSet(images=images, manifest=manifest, name="tiny")


def uniform_sampler(sizes, num_tasks, batch_size, generator, proportional=False):
    """A plain two-stage sampler for exercising the loop (tests only)."""
    task_ids = torch.randint(len(sizes), (num_tasks,), generator=generator)
    return task_ids, [torch.randperm(sizes[t], generator=generator)[:batch_size] for t in task_ids.tolist()]


def weighted_sum(losses, weights=None):
    return (losses * (torch.ones_like(losses) if weights is None else weights)).sum()


class TinyMultiHead(MultiTaskNet):
    def __init__(self, num_tasks: int, num_outputs: int) -> None:
        super().__init__()
        self.trunk = nn.Linear(784, 16)
        self.heads = nn.Parameter(torch.randn(num_tasks, 16, num_outputs) * 0.1)

    def forward(self, x, z):
        h = torch.relu(self.trunk(x.reshape(len(x), -1)))
        return torch.einsum("bh,bt,tho->bo", h, z, self.heads)

    def shared_parameters(self):
        return list(self.trunk.parameters())


# ------------------------------------------------------------------ building tasks
def test_split_drawers_disjoint_and_seeded():
    train, test = split_drawers(5, 10, 3, 4, seed=1)
    assert train.shape == (5, 3) and test.shape == (5, 4)
    for row_train, row_test in zip(train, test):
        assert not set(row_train) & set(row_test)
    again = split_drawers(5, 10, 3, 4, seed=1)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    with pytest.raises(ValueError, match="only 10"):
        split_drawers(5, 10, 6, 5)


def test_build_taskset_families_and_shapes():
    charset = tiny_charset()
    tasks = build_taskset(charset, train_drawers=2, test_drawers=3, questions=("has_curve",),
                          attributes=("strokes", "ink", "has_loop"), conflicting=1)
    names = tasks.names
    assert names[:3] == ["A0", "A1", "A2"]
    assert names[3:6] == ["A0: has_curve", "A1: has_curve", "A2: has_curve"]
    assert names[6:9] == ["strokes", "ink", "has_loop"]
    assert names[9] == "A0 (permuted)"
    assert tasks.num_outputs == 4
    recognise = tasks[0]
    assert recognise.kind == "classification" and recognise.num_outputs == 4
    assert recognise.train_x.shape == (8, 1, 28, 28) and recognise.test_x.shape == (12, 1, 28, 28)
    assert recognise.train_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    pooled = tasks[tasks.index("strokes")]
    assert pooled.kind == "regression" and pooled.num_train == 24
    assert abs(float(pooled.train_y.mean())) < 1e-5 and abs(float(pooled.train_y.std(unbiased=False)) - 1) < 1e-4
    # every task built on the same characters sees exactly the same images (multi-label learning)
    assert torch.equal(tasks[tasks.index("has_loop")].train_x, pooled.train_x)
    assert torch.equal(tasks[3].train_x, recognise.train_x)


def test_unscaled_regression_keeps_raw_units():
    charset = tiny_charset()
    raw = build_taskset(charset, recognise=False, attributes=("strokes",), scale_regression=False, train_drawers=2,
                        test_drawers=2)
    task = raw[0]
    assert task.name == "strokes (unscaled)" and task.label_shift == 0.0 and task.label_scale == 1.0
    assert set(task.train_y.tolist()) <= {1.0, 2.0, 3.0, 4.0}


def test_unknown_attribute_and_alphabet_fail_clearly():
    charset = tiny_charset()
    with pytest.raises(ValueError, match="unknown attributes"):
        build_taskset(charset, attributes=("colour",))
    with pytest.raises(ValueError, match="not in tiny"):
        build_taskset(charset, alphabets=["Klingon"])
    plain = CharacterSet(charset.images, [{"alphabet": e["alphabet"], "character": e["character"]}
                                          for e in charset.manifest], name="plain")
    with pytest.raises(ValueError, match="not in the manifest"):
        build_taskset(plain, attributes=("strokes",))
    build_taskset(plain, attributes=("ink", "top_heavy", "wide"))   # image attributes need no manifest


def test_image_attributes():
    image = np.zeros((28, 28), np.uint8)
    image[2:6, 4:24] = 255          # a wide bar in the upper half
    assert image_attribute(image, "ink") == pytest.approx(80.0)
    assert image_attribute(image, "top_heavy") == 1.0
    assert image_attribute(image, "wide") == 1.0
    tall = image.T.copy()
    assert image_attribute(tall, "wide") == 0.0
    assert image_attribute(np.flipud(image).copy(), "top_heavy") == 0.0
    batch = np.stack([image, tall])
    assert image_attribute(batch, "ink").shape == (2,)


def test_conflicting_task_permutes_labels_across_images():
    charset = tiny_charset(per_alphabet=6, drawers=10)
    base = build_taskset(charset, train_drawers=5, test_drawers=5)[0]
    twin = conflicting_task(base, seed=3)
    assert torch.equal(twin.train_x, base.train_x) and torch.equal(twin.test_x, base.test_x)
    assert sorted(twin.train_y.tolist()) == sorted(base.train_y.tolist())
    assert not torch.equal(twin.train_y, base.train_y)
    assert torch.equal(conflicting_task(base, seed=3).train_y, twin.train_y)


def test_taskset_batch_descriptors_and_errors():
    tasks = build_taskset(tiny_charset(), train_drawers=2, test_drawers=2)
    batch = tasks.batch(1, [0, 3, 5])
    assert isinstance(batch, TaskBatch) and len(batch) == 3
    assert batch.z.shape == (3, 3) and torch.equal(batch.z.argmax(1), torch.ones(3, dtype=torch.long))
    assert batch.z.sum().item() == 3
    assert tasks.batch(0, split="test").x.shape[0] == tasks[0].num_test
    with pytest.raises(IndexError):
        tasks.batch(5)
    with pytest.raises(IndexError, match="has 8 train examples"):
        tasks.batch(0, [8])
    with pytest.raises(KeyError):
        tasks.index("nope")
    assert "A2" in tasks.describe()


def test_arrays_round_trip():
    tasks = build_taskset(tiny_charset(), train_drawers=2, test_drawers=2, attributes=("ink",))
    again = taskset_from_arrays(taskset_to_arrays(tasks))
    assert again.names == tasks.names
    for a, b in zip(tasks.tasks, again.tasks):
        assert a.kind == b.kind and a.num_outputs == b.num_outputs
        assert torch.allclose(a.train_x, b.train_x, atol=1 / 255)
        assert torch.allclose(a.train_y.float(), b.train_y.float())


# ------------------------------------------------------------------ losses and scores
def test_task_loss_and_score_per_kind():
    outputs = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0], [-1.0, 0.5, 0.2]])
    labels = torch.tensor([0, 1, 0])
    assert torch.isclose(task_loss("classification", 2, outputs, labels),
                         nn.functional.cross_entropy(outputs[:, :2], labels))
    assert task_score("classification", 2, outputs, labels) == pytest.approx(2 / 3)
    binary = torch.tensor([1.0, 1.0, 0.0])
    assert torch.isclose(task_loss("binary", 1, outputs, binary),
                         nn.functional.binary_cross_entropy_with_logits(outputs[:, 0], binary))
    assert task_score("binary", 1, outputs, binary) == pytest.approx(2 / 3)
    target = torch.tensor([1.0, 2.0, 3.0])
    assert torch.isclose(task_loss("regression", 1, outputs, target), ((outputs[:, 0] - target) ** 2).mean())
    scaled = task_score("regression", 1, outputs * 10, target * 10)
    assert scaled == pytest.approx(task_score("regression", 1, outputs, target))   # R^2 is scale-free
    assert task_score("regression", 1, target.unsqueeze(1), target) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="only 3"):
        task_loss("classification", 5, outputs, labels)


def test_task_rejects_bad_shapes():
    x = torch.zeros(4, 1, 28, 28)
    with pytest.raises(ValueError, match="train_y must be"):
        Task("t", "binary", 1, x, torch.zeros(3), x, torch.zeros(4))
    with pytest.raises(ValueError, match="kind must be"):
        Task("t", "ranking", 1, x, torch.zeros(4), x, torch.zeros(4))
    with pytest.raises(ValueError, match="distinct"):
        t = Task("t", "binary", 1, x, torch.zeros(4), x, torch.zeros(4))
        TaskSet([t, t])


# ------------------------------------------------------------------ checking helpers
def test_probe_net_is_seeded_and_declares_its_shared_parameters():
    a, b = ProbeNet(3, 4, seed=7), ProbeNet(3, 4, seed=7)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert [id(p) for p in a.shared_parameters()] == [id(a.shared.weight), id(a.shared.bias)]
    assert ProbeNet(3, 4, shared=False).shared_parameters() == []
    x, z = torch.rand(5, 1, 28, 28), torch.eye(3)[[0, 1, 2, 0, 1]]
    assert a(x, z).shape == (5, 4)


def test_kit_holds_no_gradient_helpers():
    """The helper package must not compute a graded part: no per-parameter gradient or shared-name helpers
    (with them, task_gradient_cosine is two calls)."""
    import metakit.multitask as kit

    for name in ("output_gradients", "loss_gradients", "shared_parameter_names"):
        assert not hasattr(kit, name), f"metakit.multitask.{name} would answer part of hw0"


# ------------------------------------------------------------------ training
def test_train_multitask_uses_sampler_weights_and_loss():
    tasks = build_taskset(tiny_charset(), train_drawers=2, test_drawers=2, questions=("has_curve",))
    calls = {"sampler": 0, "weights": []}

    def sampler(sizes, num_tasks, batch_size, generator, proportional=False):
        calls["sampler"] += 1
        assert sizes == tasks.sizes() and num_tasks == 2 and batch_size == 5 and proportional is True
        return uniform_sampler(sizes, num_tasks, batch_size, generator)

    def loss(per_task, weights):
        assert per_task.shape == (2,) and per_task.requires_grad
        calls["weights"].append(weights.tolist())
        return weighted_sum(per_task, weights)

    torch.manual_seed(0)
    model = TinyMultiHead(tasks.num_tasks, tasks.num_outputs)
    weights = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    result = train_multitask(model, tasks, sampler, loss, steps=6, tasks_per_batch=2, batch_size=5, proportional=True,
                             weights=weights, eval_every=3, progress=False)
    assert calls["sampler"] == 6
    assert all(w in weights for step in calls["weights"] for w in step)
    assert set(result.scores) == set(tasks.names) and len(result.losses) == 6
    assert result.curves[tasks.names[0]][0] == [3, 6]
    assert 0.0 <= result.mean() <= 1.0


def test_train_multitask_learns_and_is_seeded():
    tasks = build_taskset(tiny_charset(per_alphabet=2, drawers=10), train_drawers=4, test_drawers=4)

    def run():
        torch.manual_seed(0)
        model = TinyMultiHead(tasks.num_tasks, tasks.num_outputs)
        return train_multitask(model, tasks, uniform_sampler, weighted_sum, steps=60, tasks_per_batch=3, batch_size=8,
                               lr=1e-2, progress=False, seed=3)

    first, second = run(), run()
    assert first.scores == second.scores
    assert first.losses[-1] < first.losses[0]
    assert evaluate(TinyMultiHead(tasks.num_tasks, tasks.num_outputs), tasks, split="train").keys() == first.scores.keys()


def test_train_multitask_explains_a_bad_sampler():
    tasks = build_taskset(tiny_charset(), train_drawers=2, test_drawers=2)

    def wrong(sizes, num_tasks, batch_size, generator, proportional=False):
        return [0] * num_tasks, []

    with pytest.raises(ValueError, match="LongTensor"):
        train_multitask(TinyMultiHead(3, 4), tasks, wrong, weighted_sum, steps=1, progress=False)

    def out_of_range(sizes, num_tasks, batch_size, generator, proportional=False):
        return torch.zeros(num_tasks, dtype=torch.long), [torch.tensor([99])] * num_tasks

    with pytest.raises(ValueError, match="which has 8 examples"):
        train_multitask(TinyMultiHead(3, 4), tasks, out_of_range, weighted_sum, steps=1, progress=False)
    with pytest.raises(ValueError, match="one entry per task"):
        train_multitask(TinyMultiHead(3, 4), tasks, uniform_sampler, weighted_sum, steps=1, weights=[1.0], progress=False)


def test_train_independent_and_reports():
    tasks = build_taskset(tiny_charset(), train_drawers=2, test_drawers=2, attributes=("ink",))
    baseline = train_independent(tasks, steps_per_task=5, hidden=8, eval_every=5, progress=False)
    assert set(baseline.scores) == set(tasks.names)
    torch.manual_seed(0)
    multi = train_multitask(TinyMultiHead(tasks.num_tasks, tasks.num_outputs), tasks, uniform_sampler, weighted_sum,
                            steps=5, progress=False, eval_every=5)
    results = {"independent": baseline, "multi": multi}
    table = score_table(results, baseline="independent")
    assert "vs independent" in table and "ink" in table
    assert transfer(results, "independent")["independent"] == 0.0
    with pytest.raises(KeyError):
        score_table(results, baseline="nobody")
    for fig in (plot_task_scores(results, title="t"), plot_mean_curves({"multi": multi}), plot_task_examples(tasks)):
        assert fig.axes
        matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------ real Omniglot
@pytest.mark.omniglot
def test_omniglot_alphabets_each_once(omniglot_dir):
    charset = load_omniglot_alphabets(omniglot_dir)
    assert len(charset.alphabets) == 8 and charset.num_characters == 136 + 156 - 26 - 24
    tasks = build_taskset(charset, train_drawers=3, test_drawers=5)
    assert tasks.num_outputs == 47 and tasks.num_tasks == 8


def test_omniglot_missing_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="images_background_small1.zip"):
        load_omniglot_alphabets(tmp_path)


# ------------------------------------------------------------------ the grader's statistics
def _grader_conftest():
    return file_module(REPO_ROOT / "autograder" / "hw0" / "conftest.py", "hw0_grader_conftest")


def test_grader_chi_square_p_values():
    grader = _grader_conftest()
    assert grader.chi_square_p_value([250, 250, 250, 250], [0.25] * 4) == pytest.approx(1.0)
    # chi2 with 3 degrees of freedom: P(X > 7.815) = 0.05, P(X > 11.345) = 0.01
    assert grader.upper_gamma_regularized(1.5, 7.815 / 2) == pytest.approx(0.05, abs=1e-4)
    assert grader.upper_gamma_regularized(1.5, 11.345 / 2) == pytest.approx(0.01, abs=1e-4)
    assert grader.upper_gamma_regularized(20.0, 5.0) == pytest.approx(1.0, abs=1e-5)
    proportional = np.array([2, 20, 200, 2000]) / 2222 * 4000
    assert grader.chi_square_p_value(proportional, [0.25] * 4) < 1e-100


def _reference_module():
    from metakit.grading.authoring import notebook_module

    return notebook_module(REPO_ROOT / "solutions" / "hw0" / "hw0.ipynb", "hw0_reference")


@pytest.mark.parametrize("mode", ["independent", "concat", "additive", "multihead", "multiplicative"])
def test_grader_documented_forward_matches_the_reference(mode):
    """The grader's formula and shape-based parameter filling agree with the reference network, and
    disagree with a network whose ReLU sits elsewhere."""
    grader, ref = _grader_conftest(), _reference_module()
    t, o, h = 3, 5, 6
    model = ref.TaskConditionedNet(t, o, mode, hidden=h)
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert sum(int(np.prod(s)) for s in shapes.values()) == grader.parameter_count(mode, t, o, h)
    assert sum(p.numel() for p in model.shared_parameters()) == grader.shared_count(mode, t, o, h)
    values, layers = grader.designed_values(shapes, mode, t, o, h, seed=3)
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(torch.from_numpy(values[n]))
    x = torch.rand(6, 1, 28, 28)
    z = torch.randn(6, t)
    with torch.no_grad():
        got = model(x, z).double().numpy()
    expected = grader.documented_forward(mode, layers, x.numpy(), z.numpy())
    assert np.allclose(got, expected, atol=1e-4, rtol=1e-4)
    wrong = dict(layers, W3=-layers["W3"])
    assert not np.allclose(got, grader.documented_forward(mode, wrong, x.numpy(), z.numpy()), atol=1e-4)


def test_grader_concat_candidates_find_trained_layers():
    grader, ref = _grader_conftest(), _reference_module()
    torch.manual_seed(0)
    model = ref.TaskConditionedNet(4, 1, "concat", hidden=8)
    values = {n: p.detach().double().numpy() for n, p in model.named_parameters()}
    x, z = torch.rand(5, 1, 28, 28), torch.eye(4)[[0, 1, 2, 3, 0]]
    with torch.no_grad():
        own = model(x, z).double().numpy()
    readings = grader.concat_candidates(values, 4, 1, 8)
    assert len(readings) == 4
    assert sum(np.allclose(grader.concat_forward(r, x.numpy(), z.numpy()), own, atol=1e-5) for r in readings) == 1
    assert grader.concat_candidates({**values, "extra": np.zeros(3)}, 4, 1, 8) == []


def test_grader_sharing_classification():
    grader = _grader_conftest()
    own = [{"w": np.array([True, False]), "shared": np.array([True, True]), "none": np.array([False])},
           {"w": np.array([False, True]), "shared": np.array([True, False]), "none": np.array([False])}]
    groups = grader.sharing(own)
    assert groups == {"shared": {"shared"}, "own": {"w"}, "unused": {"none"}, "mixed": set()}
