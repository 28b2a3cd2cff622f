"""Hidden graders of hw2, part C: short training runs on easy glyph episodes.

The kit's public loops (``metakit.fewshot.train_protonet`` / ``train_maml``) run the student's
``protonet_step`` / ``MAML.outer_step`` in the worker on episodes of the kit's generated glyphs
(training characters only). The grader then scores the result itself on held-out characters:

* ProtoNet: it sends the test images, gets the trained embedding's features back (eval mode), and
  computes prototypes, predictions and accuracy here;
* MAML: it reads the meta-learned parameters and inner learning rates back and adapts to every
  test task with its own float64 inner loop (conftest.py), then scores the query predictions.

Thresholds come from ``benchmarks/calibrate_hw2.py``, which runs these same functions in-process
on the reference solution for 20 seeds, and on an untrained model for comparison.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from conftest import adapt, conv4, to_torch

from metakit.grading import as_array, check, graded, tensor

PROTONET = dict(hidden=16, ways=5, shots=5, queries=5, meta_batch=2, iterations=60, lr=3e-3,
                test_episodes=100, test_shots=1, test_queries=5, threshold=0.70)
MAML = dict(hidden=16, ways=5, queries=5, meta_batch=4, iterations=60, inner_lr=0.4, outer_lr=3e-3,
            test_episodes=100, test_queries=5, threshold=0.60)


@functools.lru_cache(maxsize=1)
def glyph_pools() -> tuple[np.ndarray, np.ndarray]:
    """uint8 [C, 20, 28, 28] training and held-out test characters of the kit's glyphs (disjoint)."""
    from metakit.data.glyphs import load_glyphs
    from metakit.data.splits import split_by_character

    glyphs = load_glyphs()
    train, test = split_by_character(glyphs, sizes=(glyphs.num_characters - 100, 100), seed=0)
    return train.images, test.images


def held_out_episodes(pool: np.ndarray, count: int, ways: int, shots: int, queries: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 support [E, N*K, 1, 28, 28] (way-major) and query [E, N*Q, 1, 28, 28] of held-out episodes."""
    rng = np.random.default_rng(seed)
    supports, queries_ = [], []
    for _ in range(count):
        classes = rng.choice(pool.shape[0], ways, replace=False)
        drawers = np.stack([rng.permutation(pool.shape[1])[: shots + queries] for _ in classes])
        images = pool[classes[:, None], drawers].astype(np.float32) / 255.0           # [N, K+Q, 28, 28]
        supports.append(images[:, :shots].reshape(-1, 1, 28, 28))
        queries_.append(images[:, shots:].reshape(-1, 1, 28, 28))
    return np.stack(supports), np.stack(queries_)


def protonet_training_accuracy(student, seed: int = 0, train: bool = True) -> float:
    """Train the student's protonet_step on glyph episodes; the grader's held-out 5-way 1-shot accuracy.
    ``train=False`` scores the untrained embedding (for calibration)."""
    c = PROTONET
    train_pool, test_pool = glyph_pools()
    student.call("metakit.grading.harness:set_seed", seed)
    model = student.call("metakit.fewshot:ProtoNetEmbedding", hidden=c["hidden"], keep=True)
    if train:
        sampler = student.call("metakit.episodes:EpisodeSampler", train_pool, c["ways"], c["shots"], c["queries"],
                               seed=seed, keep=True)
        student.call("metakit.fewshot:train_protonet", student.ref("protonet_step"), model, sampler, None,
                     iterations=c["iterations"], meta_batch=c["meta_batch"], lr=c["lr"], progress=False, keep=True)
    student.method(model, "eval")
    support, query = held_out_episodes(test_pool, c["test_episodes"], 5, c["test_shots"], c["test_queries"], seed + 1000)
    images = np.concatenate([support, query], axis=1)                                   # [E, S+Q, 1, 28, 28]
    features = as_array(student.method(model, "forward", tensor(images.reshape(-1, 1, 28, 28))),
                        "the trained embedding's features")
    check(features.ndim == 2 and features.shape[0] == images.shape[0] * images.shape[1],
          f"the embedding should return [M, D] features; got shape {list(features.shape)}")
    check(np.isfinite(features).all(), "the trained embedding returns NaN or inf features")
    features = features.reshape(images.shape[0], images.shape[1], -1)
    n_support = support.shape[1]
    support_labels = np.repeat(np.arange(5), c["test_shots"])
    query_labels = np.repeat(np.arange(5), c["test_queries"])
    correct = []
    for episode in features:
        fs, fq = episode[:n_support], episode[n_support:]
        protos = np.stack([fs[support_labels == n].mean(0) for n in range(5)])
        distances = ((fq[:, None, :] - protos[None]) ** 2).sum(-1)
        correct.append((distances.argmin(1) == query_labels).mean())
    return float(np.mean(correct))


def maml_training_accuracy(student, seed: int = 0, train: bool = True) -> float:
    """Meta-train the student's MAML (second order, 1 inner step, fixed inner rate) on glyph episodes;
    the grader adapts the learned initialisation itself and scores held-out 5-way 1-shot tasks."""
    c = MAML
    train_pool, test_pool = glyph_pools()
    student.call("metakit.grading.harness:set_seed", seed)
    maml = student.call("MAML", num_ways=5, num_inner_steps=1, inner_lr=c["inner_lr"], learn_inner_lrs=False,
                        outer_lr=c["outer_lr"], first_order=False, hidden=c["hidden"], seed=seed, keep=True)
    if train:
        sampler = student.call("metakit.episodes:EpisodeSampler", train_pool, 5, 1, c["queries"], seed=seed, keep=True)
        student.call("metakit.fewshot:train_maml", maml, sampler, None, iterations=c["iterations"],
                     meta_batch=c["meta_batch"], progress=False, keep=True)
    params = student.attr(maml, "params")
    check(isinstance(params, dict), "MAML.params should stay a dict of tensors")
    theta = to_torch({name: as_array(value, f"MAML.params['{name}']") for name, value in params.items()})
    check(all(torch.isfinite(v).all() for v in theta.values()), "the meta-trained parameters contain NaN or inf")
    lrs = {name: torch.tensor(c["inner_lr"], dtype=torch.float64) for name in theta}
    support, query = held_out_episodes(test_pool, c["test_episodes"], 5, 1, c["test_queries"], seed + 2000)
    support_labels = torch.arange(5)
    query_labels = torch.arange(5).repeat_interleave(c["test_queries"])
    correct = []
    for sx, qx in zip(support, query):
        start = {k: v.clone().requires_grad_(True) for k, v in theta.items()}
        adapted, _, _ = adapt(start, lrs, torch.tensor(sx, dtype=torch.float64), support_labels, 1, second_order=False)
        with torch.no_grad():
            logits = conv4(adapted, torch.tensor(qx, dtype=torch.float64))
        correct.append(float((logits.argmax(1) == query_labels).double().mean()))
    return float(np.mean(correct))


@graded(points=3, timeout=90)
def test_protonet_training_learns(student):
    """a short ProtoNet training run with protonet_step learns to classify held-out glyph characters"""
    accuracy = protonet_training_accuracy(student)
    c = PROTONET
    check(accuracy >= c["threshold"],
          f"after {c['iterations']} training iterations with your protonet_step, the embedding reaches {accuracy:.1%} "
          f"on held-out 5-way 1-shot glyph episodes (the grader computed it from your model's features); the "
          f"reference solution reaches at least {c['threshold']:.0%} with every one of 20 seeds. Check that the "
          f"loss is the query cross-entropy of negative squared distances to the support prototypes.")


@graded(points=3, timeout=120)
def test_maml_training_learns(student):
    """a short MAML meta-training run learns an initialisation that adapts to held-out glyph characters"""
    accuracy = maml_training_accuracy(student)
    c = MAML
    check(accuracy >= c["threshold"],
          f"after {c['iterations']} meta-training iterations with your MAML.outer_step, one inner step from the "
          f"learned initialisation reaches {accuracy:.1%} on held-out 5-way 1-shot glyph tasks (the grader adapted "
          f"your parameters itself); the reference solution reaches at least {c['threshold']:.0%} with every one "
          f"of 20 seeds. Check the meta-loss (query loss at the adapted parameters) and the update.")
