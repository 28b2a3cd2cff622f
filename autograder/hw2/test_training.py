"""Hidden graders of hw2, part C: short training runs on easy glyph episodes, driven from here.

The grader runs each training loop itself and scores a model it defines, so that nothing a
submission returns, and no kit function it could replace in its own process, decides the score:

* ProtoNet: the grader chooses the starting parameters of the conv4 embedding (those of
  ``ProtoNetEmbedding(16)`` under a seed, built here) and samples the training episodes. Every
  step it loads its current parameters into the embedding in the worker, calls the student's
  ``protonet_step`` on the episodes, backpropagates the returned loss there, reads the gradients
  back and takes the Adam step *here*. It then embeds held-out characters with its own float64
  forward of the same architecture (batch norm with statistics of grader-chosen training images)
  and classifies them by nearest prototype itself.
* MAML: the grader chooses the initialisation and the episodes; every step it loads its
  parameters into the student's ``MAML`` (plain SGD with learning rate 1, so the change of the
  parameters is the meta-gradient), calls ``outer_step(tasks, train=True)``, reads the change back
  and takes the Adam step here. It then adapts its own parameters to every held-out task with its
  own float64 inner loop (conftest.py) and scores the query predictions.

A submission can influence the scored parameters only through the gradients its code computes.
Untrained, the same architectures reach about 0.4 (ProtoNet) and 0.3 (MAML) on the same held-out
episodes; thresholds come from ``benchmarks/calibrate_hw2.py`` (the reference on 20 seeds).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from conftest import Adam, adapt, conv4, protonet_embed, protonet_init, sample_tasks, send_task, to_torch

from metakit.grading import as_array, check, fail, graded

PROTONET = dict(hidden=16, ways=5, shots=5, queries=5, meta_batch=2, steps=60, lr=3e-3,
                test_episodes=100, test_shots=1, test_queries=5, threshold=0.70)
MAML = dict(hidden=16, ways=5, queries=5, meta_batch=4, steps=60, inner_lr=0.4, outer_lr=3e-3,
            test_episodes=100, test_queries=5, threshold=0.60)
BN_STATS_IMAGES = 200    # training images whose statistics the grader's batch norm uses at evaluation

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


def _grad_dict(grads, names: list[str], where: str) -> dict[str, np.ndarray]:
    check(isinstance(grads, dict), f"{where}: could not read the gradients back")
    missing = [n for n in names if grads.get(n) is None]
    check(not missing, f"{where}: after loss.backward() the embedding's parameters {missing[:3]} have no gradient: "
                       f"the loss of protonet_step must depend on every layer of the model it is given")
    out = {n: as_array(grads[n], f"the gradient of {n}") for n in names}
    check(all(np.isfinite(g).all() for g in out.values()), f"{where}: the gradients contain NaN or inf")
    return out


def protonet_training_accuracy(student, seed: int = 0, train: bool = True) -> float:
    """Train with the student's protonet_step (the loop, the parameters and Adam are the grader's);
    the grader's held-out 5-way 1-shot accuracy of the resulting embedding. ``train=False`` scores the
    grader's starting parameters (for calibration)."""
    c = PROTONET
    train_pool, test_pool = glyph_pools()
    rng = np.random.default_rng(seed)
    init = protonet_init(c["hidden"], seed)
    names = list(init)
    optimizer = Adam(init, c["lr"])
    if train:
        student.call("metakit.grading.harness:set_seed", seed)
        model = student.call("metakit.fewshot:ProtoNetEmbedding", hidden=c["hidden"], keep=True)
        info = student.call("metakit.grading.harness:parameter_info", model)
        shapes = {n: tuple(v["shape"]) for n, v in info.items()} if isinstance(info, dict) else {}
        check(shapes == {n: v.shape for n, v in init.items()},
              "the embedding built in your worker is not metakit.fewshot.ProtoNetEmbedding(hidden=16) (its "
              "parameters differ): do not redefine or replace the kit's classes")
        student.method(model, "train")
        for step in range(c["steps"]):
            student.call("metakit.grading.harness:load_arrays", model, optimizer.float32())
            tasks = sample_tasks(train_pool, rng, c["meta_batch"], c["ways"], c["shots"], c["queries"])
            result = student.call("protonet_step", model, [send_task(t) for t in tasks], keep=True)
            loss = student.call("operator:getitem", result, 0, keep=True)
            if step == 0:
                check(student.attr(loss, "requires_grad") is True,
                      "protonet_step's loss does not depend on the model's parameters through autograd, so "
                      "training cannot learn anything (no .item(), .detach() or numpy in the loss)")
            student.method(loss, "backward")
            grads = _grad_dict(student.call("metakit.grading.harness:grad_arrays", model), names,
                               f"training step {step + 1}")
            student.method(model, "zero_grad")
            optimizer.step(grads)
    params = optimizer.params
    stats_x = sample_tasks(train_pool, np.random.default_rng(seed + 500), 8, 5, 5, 0)
    stats_images = np.concatenate([t[0] for t in stats_x])[:BN_STATS_IMAGES]
    support, query = held_out_episodes(test_pool, c["test_episodes"], 5, c["test_shots"], c["test_queries"], seed + 1000)
    images = np.concatenate([support, query], axis=1)                                   # [E, S+Q, 1, 28, 28]
    features = protonet_embed(params, images.reshape(-1, 1, 28, 28), stats_images)
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


def maml_init(hidden: int, seed: int) -> dict[str, np.ndarray]:
    """MAML's starting parameters, chosen here (the kit's conv4 initialisation under ``seed``)."""
    from metakit.fewshot import conv4_init

    return {k: v.detach().numpy().astype(np.float32).copy() for k, v in conv4_init(5, hidden, seed=seed + 7).items()}


def maml_training_accuracy(student, seed: int = 0, train: bool = True) -> float:
    """Meta-train with the student's MAML.outer_step (second order, 1 inner step, fixed inner rate;
    the loop, the parameters and Adam are the grader's); the grader adapts the result itself and
    scores held-out 5-way 1-shot tasks. ``train=False`` scores the grader's initialisation."""
    c = MAML
    train_pool, test_pool = glyph_pools()
    rng = np.random.default_rng(seed)
    init = maml_init(c["hidden"], seed)
    optimizer = Adam(init, c["outer_lr"])
    if train:
        student.call("metakit.grading.harness:set_seed", seed)
        maml = student.call("MAML", num_ways=5, num_inner_steps=1, inner_lr=c["inner_lr"], learn_inner_lrs=False,
                            outer_lr=1.0, first_order=False, hidden=c["hidden"], outer_optimizer="sgd", seed=seed,
                            keep=True)
        for step in range(c["steps"]):
            theta = optimizer.float32()
            student.call("metakit.grading.harness:load_tensors", student.attr(maml, "params", keep=True), theta)
            tasks = sample_tasks(train_pool, rng, c["meta_batch"], 5, 1, c["queries"])
            student.method(maml, "outer_step", [send_task(t) for t in tasks], True)
            after = student.attr(maml, "params")
            check(isinstance(after, dict) and set(after) == set(theta), "MAML.params should stay a dict of "
                  "tensors with the names of conv4_init")
            # plain SGD with learning rate 1: the change of the parameters is the meta-gradient
            grads = {n: theta[n].astype(np.float64) - as_array(after[n], f"MAML.params['{n}']", shape=theta[n].shape)
                     for n in theta}
            if not all(np.isfinite(g).all() for g in grads.values()):
                fail(f"MAML.outer_step, meta-training step {step + 1}: the meta-gradient contains NaN or inf")
            optimizer.step(grads)
    theta = to_torch(optimizer.params)
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
          f"after {c['steps']} training steps with your protonet_step (the grader ran the loop and the "
          f"Adam steps on the gradients of your loss), the embedding reaches {accuracy:.1%} on held-out 5-way 1-shot "
          f"glyph episodes (the grader computed it with its own forward of the trained parameters); the reference "
          f"solution reaches at least {c['threshold']:.0%} with every one of 20 seeds, the untrained embedding about "
          f"40%. Check that the loss is the query cross-entropy of negative squared distances to the support "
          f"prototypes.")


@graded(points=3, timeout=120)
def test_maml_training_learns(student):
    """a short MAML meta-training run learns an initialisation that adapts to held-out glyph characters"""
    accuracy = maml_training_accuracy(student)
    c = MAML
    check(accuracy >= c["threshold"],
          f"after {c['steps']} meta-training steps with your MAML.outer_step (the grader ran the loop and "
          f"the Adam steps on your meta-gradients), one inner step from the learned initialisation reaches "
          f"{accuracy:.1%} on held-out 5-way 1-shot glyph tasks (the grader adapted the parameters itself); the "
          f"reference solution reaches at least {c['threshold']:.0%} with every one of 20 seeds. Check the meta-loss "
          f"(query loss at the adapted parameters) and the update.")
