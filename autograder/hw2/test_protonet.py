"""Hidden graders of hw2, part A: prototypes, ProtoNet logits, protonet_step, a short training run."""
import numpy as np
import torch
from conftest import protonet_reference

from metakit.grading import as_array, check, close, fail, graded, tensor

RNG = np.random.default_rng(2024)


def _features(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


@graded(points=2, timeout=20)
def test_prototypes_class_means(student):
    """prototypes are the class means of the support features"""
    features = _features(12, 5, 1)
    labels = np.repeat(np.arange(3), 4)
    expected = np.stack([features[labels == n].mean(0) for n in range(3)]).astype(np.float64)
    got = student.call("prototypes", tensor(features), tensor(labels), 3)
    close(as_array(got, "prototypes(features [12, 5], labels, 3)", shape=(3, 5)), expected, atol=1e-5,
          what="prototypes of a 3-way 4-shot support set (labels 0,0,0,0,1,1,1,1,2,2,2,2)")


@graded(points=2, timeout=20)
def test_prototypes_any_label_order(student):
    """prototypes use the labels, whatever the order of the support examples"""
    features = _features(15, 6, 2)
    labels = np.random.default_rng(3).permutation(np.repeat(np.arange(5), 3))
    expected = np.stack([features[labels == n].mean(0) for n in range(5)]).astype(np.float64)
    got = as_array(student.call("prototypes", tensor(features), tensor(labels), 5),
                   "prototypes(features [15, 6], shuffled labels, 5)", shape=(5, 6))
    close(got, expected, atol=1e-5,
          what=f"prototypes with shuffled labels {labels.tolist()} (row n must be the mean of the features "
               f"labelled n, not of a block of rows)")
    # unequal class sizes: the mean divides by each class's own count
    labels = np.array([2, 0, 1, 2, 2, 0, 1, 1, 2, 0, 2, 2, 1, 0, 0])
    expected = np.stack([features[labels == n].mean(0) for n in range(3)]).astype(np.float64)
    got = student.call("prototypes", tensor(features), tensor(labels), 3)
    close(as_array(got, "prototypes with unequal class sizes", shape=(3, 6)), expected, atol=1e-5,
          what="prototypes when classes have different numbers of support examples (4, 4, 7)")


@graded(points=2, timeout=20)
def test_protonet_logits_negative_squared_distance(student):
    """protonet_logits are negative squared Euclidean distances"""
    query = _features(7, 4, 4)
    protos = _features(3, 4, 5)
    expected = -((query[:, None, :].astype(np.float64) - protos[None].astype(np.float64)) ** 2).sum(-1)
    got = as_array(student.call("protonet_logits", tensor(query), tensor(protos)),
                   "protonet_logits(query [7, 4], prototypes [3, 4])", shape=(7, 3))
    if np.allclose(got, -np.sqrt(-expected), atol=1e-4):
        fail("protonet_logits returns negative distances, not negative *squared* distances")
    if np.allclose(got, -expected, atol=1e-4):
        fail("protonet_logits returns positive squared distances: the nearest prototype must get the "
             "largest logit, so use the negative")
    close(got, expected, atol=1e-4, what="protonet_logits(query, prototypes)")


def _linear_model(student, in_features: int, out_features: int, seed: int):
    """A torch model (Flatten + Linear with grader-chosen weights) built in the worker."""
    rng = np.random.default_rng(seed)
    weight = (rng.normal(size=(out_features, in_features)) / np.sqrt(in_features)).astype(np.float32)
    bias = (0.1 * rng.normal(size=out_features)).astype(np.float32)
    flatten = student.call("torch.nn:Flatten", keep=True)
    linear = student.call("torch.nn:Linear", in_features, out_features, keep=True)
    student.call("metakit.grading.harness:load_arrays", linear, {"weight": weight, "bias": bias})
    model = student.call("torch.nn:Sequential", flatten, linear, keep=True)
    return model, weight.astype(np.float64), bias.astype(np.float64)


def _tasks(num_tasks: int, ways: int, shots: int, queries: int, seed: int) -> list[tuple]:
    from conftest import random_task

    return [random_task(ways, shots, queries, seed + t, shuffle=True) for t in range(num_tasks)]


def _reference_step(tasks: list[tuple], weight: np.ndarray, bias: np.ndarray, ways: int) -> dict:
    refs = []
    for sx, sy, qx, qy in tasks:
        fs = sx.reshape(len(sx), -1).astype(np.float64) @ weight.T + bias
        fq = qx.reshape(len(qx), -1).astype(np.float64) @ weight.T + bias
        refs.append(protonet_reference(fs, sy, fq, qy, ways))
    return {key: float(np.mean([r[key] for r in refs])) for key in ("loss", "support_acc", "query_acc")}


@graded(points=3, timeout=30)
def test_protonet_step_loss_and_accuracies(student):
    """protonet_step's loss and accuracies match the grader's on the same features"""
    ways = 4
    tasks = _tasks(3, ways, 2, 3, seed=10)
    model, weight, bias = _linear_model(student, 784, 6, seed=11)
    expected = _reference_step(tasks, weight, bias, ways)
    sent = [tuple(tensor(a) for a in task) for task in tasks]
    result = student.call("protonet_step", model, sent)
    check(isinstance(result, tuple) and len(result) == 3,
          f"protonet_step should return (loss, support_accuracy, query_accuracy); got {type(result).__name__}"
          f"{' of length ' + str(len(result)) if isinstance(result, (tuple, list)) else ''}")
    loss, support_acc, query_acc = result
    close(as_array(loss, "protonet_step's loss").reshape(()), expected["loss"], atol=1e-4, rtol=1e-4,
          what="protonet_step's loss (query cross-entropy, mean over queries then over the 3 tasks)")
    close(as_array(support_acc, "protonet_step's support accuracy").reshape(()), expected["support_acc"], atol=1e-6,
          what="protonet_step's support accuracy (support examples classified by the prototypes)")
    close(as_array(query_acc, "protonet_step's query accuracy").reshape(()), expected["query_acc"], atol=1e-6,
          what="protonet_step's query accuracy")


@graded(points=1, timeout=30)
def test_protonet_step_gradient(student):
    """protonet_step's loss backpropagates to the model with the right gradient"""
    ways = 3
    tasks = _tasks(2, ways, 3, 2, seed=20)
    model, weight, bias = _linear_model(student, 784, 5, seed=21)
    loss = student.call("protonet_step", model, [tuple(tensor(a) for a in t) for t in tasks], keep=True)
    loss_tensor = student.call("operator:getitem", loss, 0, keep=True)
    requires_grad = student.attr(loss_tensor, "requires_grad")
    check(requires_grad is True, "protonet_step's loss does not depend on the model's parameters through "
                                 "autograd (did you call .item(), .detach() or convert to numpy?)")
    student.method(loss_tensor, "backward")
    linear = student.call("operator:getitem", model, 1, keep=True)
    grads = student.call("metakit.grading.harness:grad_arrays", linear)

    w = torch.tensor(weight, requires_grad=True)
    b = torch.tensor(bias, requires_grad=True)
    total = []
    for sx, sy, qx, qy in tasks:
        fs = torch.tensor(sx.reshape(len(sx), -1), dtype=torch.float64) @ w.T + b
        fq = torch.tensor(qx.reshape(len(qx), -1), dtype=torch.float64) @ w.T + b
        protos = torch.stack([fs[torch.tensor(sy) == n].mean(0) for n in range(ways)])
        logits = -((fq[:, None] - protos[None]) ** 2).sum(-1)
        total.append(torch.nn.functional.cross_entropy(logits, torch.tensor(qy)))
    torch.stack(total).mean().backward()
    check(grads.get("weight") is not None, "after loss.backward() the model's weight has no gradient")
    close(grads["weight"], w.grad.numpy(), atol=1e-4, rtol=1e-3,
          what="the gradient of protonet_step's loss with respect to the embedding's weights")
