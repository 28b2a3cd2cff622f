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
    check(grads.get("weight") is not None, "protonet_step: after loss.backward() the model's weight has no gradient")
    close(grads["weight"], w.grad.numpy(), atol=1e-4, rtol=1e-3,
          what="the gradient of protonet_step's loss with respect to the embedding's weights")


# ----------------------------------------------------------------------------------------- sweeps and states
def _sweep_configs(seed: int, count: int) -> list[dict]:
    """Random sizes for prototypes/logits sweeps, always including the edge cases the docstrings
    allow: one class, one feature, one example per class, float64 inputs, zero vectors."""
    rng = np.random.default_rng(seed)
    configs = [dict(ways=1, dim=3, counts=[2], dtype=np.float32, zero=False),
               dict(ways=3, dim=1, counts=[1, 2, 1], dtype=np.float64, zero=False),
               dict(ways=4, dim=5, counts=[1, 1, 1, 1], dtype=np.float32, zero=True)]
    for _ in range(count - len(configs)):
        ways = int(rng.integers(2, 9))
        configs.append(dict(ways=ways, dim=int(rng.integers(2, 40)), counts=rng.integers(1, 6, ways).tolist(),
                            dtype=[np.float32, np.float64][int(rng.integers(0, 2))], zero=bool(rng.integers(0, 2))))
    return configs


@graded(points=2, timeout=30)
def test_prototypes_random_sweep(student):
    """prototypes: class means for random sizes, one class, one feature, unequal classes; dtype kept"""
    rng = np.random.default_rng(7)
    for number, c in enumerate(_sweep_configs(seed=6, count=14)):
        labels = rng.permutation(np.repeat(np.arange(c["ways"]), c["counts"])).astype(np.int64)
        features = rng.normal(size=(len(labels), c["dim"])).astype(c["dtype"]) * 3
        if c["zero"]:
            features[labels == 0] = 0.0
        expected = np.stack([features[labels == n].astype(np.float64).mean(0) for n in range(c["ways"])])
        what = (f"prototypes(features [{len(labels)}, {c['dim']}] {np.dtype(c['dtype']).name}, labels "
                f"{labels.tolist()}, num_ways={c['ways']})")
        got = student.call("prototypes", tensor(features), tensor(labels), c["ways"])
        array = as_array(got, what, shape=(c["ways"], c["dim"]))
        check(isinstance(got, np.ndarray) and got.dtype == c["dtype"],
              f"{what} should return a tensor of the features' dtype {np.dtype(c['dtype']).name}; got "
              f"{getattr(got, 'dtype', type(got).__name__)}")
        close(array, expected, atol=1e-5 if c["dtype"] == np.float32 else 1e-10, rtol=1e-5, what=what)


@graded(points=1, timeout=20)
def test_prototypes_differentiable(student):
    """prototypes are differentiable with respect to the features (each row gets 1 / its class size)"""
    labels = np.array([2, 0, 1, 2, 2, 0, 1, 2], dtype=np.int64)
    features = _features(len(labels), 4, 8).astype(np.float64)
    out = student.call("metakit.grading.harness:input_grads", student.ref("prototypes"),
                       tensor(features, requires_grad=True), tensor(labels), 3)
    check(isinstance(out, dict) and out.get("grads") is not None,
          "prototypes(features, labels, 3) with features that require grad returned a result with no graph "
          "to the features (no .detach(), numpy or torch.no_grad() inside)")
    expected_out = np.stack([features[labels == n].mean(0) for n in range(3)])
    close(as_array(out["output"], "prototypes(...)", shape=(3, 4)), expected_out, atol=1e-10,
          what="prototypes of float64 features")
    counts = np.bincount(labels, minlength=3)
    expected = np.repeat((1.0 / counts[labels])[:, None], 4, axis=1)
    close(as_array(out["grads"][0], "the gradient of sum(prototypes) with respect to features", shape=(8, 4)),
          expected, atol=1e-10, what="d sum(prototypes(features, labels, 3)) / d features (1 / class size per row)")


@graded(points=2, timeout=30)
def test_protonet_logits_random_sweep(student):
    """protonet_logits for random sizes (one query, one prototype, one feature, zero vectors); dtype kept"""
    rng = np.random.default_rng(9)
    for c in _sweep_configs(seed=10, count=12):
        m = int(rng.integers(1, 9)) if c["ways"] > 1 else 1
        query = (rng.normal(size=(m, c["dim"])) * 2).astype(c["dtype"])
        protos = (rng.normal(size=(c["ways"], c["dim"])) * 2).astype(c["dtype"])
        if c["zero"]:
            query[0] = 0.0
            protos[-1] = 0.0
        query[-1] = protos[0]                                    # a query on a prototype: distance 0
        expected = -((query[:, None, :].astype(np.float64) - protos[None].astype(np.float64)) ** 2).sum(-1)
        what = f"protonet_logits(query [{m}, {c['dim']}] {np.dtype(c['dtype']).name}, prototypes [{c['ways']}, {c['dim']}])"
        got = student.call("protonet_logits", tensor(query), tensor(protos))
        array = as_array(got, what, shape=(m, c["ways"]))
        check(isinstance(got, np.ndarray) and got.dtype == c["dtype"],
              f"{what} should return a tensor of the inputs' dtype {np.dtype(c['dtype']).name}; got "
              f"{getattr(got, 'dtype', type(got).__name__)}")
        close(array, expected, atol=1e-4 if c["dtype"] == np.float32 else 1e-9, rtol=1e-4, what=what)


@graded(points=1, timeout=20)
def test_protonet_logits_differentiable(student):
    """protonet_logits are differentiable with respect to both the queries and the prototypes"""
    query, protos = _features(5, 3, 12).astype(np.float64), _features(4, 3, 13).astype(np.float64)
    out = student.call("metakit.grading.harness:input_grads", student.ref("protonet_logits"),
                       tensor(query, requires_grad=True), tensor(protos, requires_grad=True))
    check(isinstance(out, dict) and out.get("grads") is not None and len(out["grads"]) == 2,
          "protonet_logits(query, prototypes) with inputs that require grad returned no graph to them")
    diff = query[:, None, :] - protos[None]                                            # [M, N, D]
    for got, expected, name in ((out["grads"][0], -2 * diff.sum(1), "query_features"),
                                (out["grads"][1], 2 * diff.sum(0), "prototypes")):
        check(got is not None, f"protonet_logits gives no gradient to {name}: it must be differentiable with "
                               f"respect to both inputs (no .detach())")
        close(as_array(got, f"the gradient with respect to {name}"), expected, atol=1e-8,
              what=f"d sum(protonet_logits) / d {name}")


def _bn_model(student, seed: int, training: bool):
    """Flatten -> Linear(784, 6) -> BatchNorm1d(6) with grader-chosen weights and running statistics."""
    rng = np.random.default_rng(seed)
    weight = (rng.normal(size=(6, 784)) / 28).astype(np.float32)
    values = {"1.weight": weight, "1.bias": (0.1 * rng.normal(size=6)).astype(np.float32),
              "2.weight": (1 + 0.3 * rng.normal(size=6)).astype(np.float32),
              "2.bias": (0.3 * rng.normal(size=6)).astype(np.float32),
              "2.running_mean": (0.5 * rng.normal(size=6)).astype(np.float32),
              "2.running_var": rng.uniform(0.5, 2.0, 6).astype(np.float32)}
    layers = [student.call("torch.nn:Flatten", keep=True), student.call("torch.nn:Linear", 784, 6, keep=True),
              student.call("torch.nn:BatchNorm1d", 6, keep=True)]
    model = student.call("torch.nn:Sequential", *layers, keep=True)
    student.call("metakit.grading.harness:load_arrays", model, values)
    student.method(model, "train" if training else "eval")
    return model, {k: v.astype(np.float64) for k, v in values.items()}


def _bn_eval_features(x: np.ndarray, v: dict) -> np.ndarray:
    h = x.reshape(len(x), -1).astype(np.float64) @ v["1.weight"].T + v["1.bias"]
    return (h - v["2.running_mean"]) / np.sqrt(v["2.running_var"] + 1e-5) * v["2.weight"] + v["2.bias"]


@graded(points=2, timeout=30)
def test_protonet_step_uses_model_as_given(student):
    """protonet_step uses the model in the mode it gets, and leaves its mode, statistics and gradients alone"""
    ways = 3
    tasks = _tasks(2, ways, 2, 3, seed=30)
    model, values = _bn_model(student, seed=31, training=False)
    refs = [protonet_reference(_bn_eval_features(sx, values), sy, _bn_eval_features(qx, values), qy, ways)
            for sx, sy, qx, qy in tasks]
    expected = {k: float(np.mean([r[k] for r in refs])) for k in ("loss", "support_acc", "query_acc")}
    result = student.call("protonet_step", model, [tuple(tensor(a) for a in t) for t in tasks])
    check(isinstance(result, tuple) and len(result) == 3, "protonet_step should return (loss, support_accuracy, "
                                                          "query_accuracy)")
    close(as_array(result[0], "protonet_step's loss").reshape(()), expected["loss"], atol=1e-4, rtol=1e-4,
          what="protonet_step's loss with a model in eval mode (batch norm with its running statistics: do not "
               "call model.train() or model.eval() inside protonet_step)")
    close(as_array(result[2], "protonet_step's query accuracy").reshape(()), expected["query_acc"], atol=1e-6,
          what="protonet_step's query accuracy with a model in eval mode")
    check(student.attr(model, "training") is False,
          "protonet_step switched the model to train mode: use it as it is (the training loop sets the mode)")
    state = student.call("metakit.grading.harness:state_arrays", model)
    close(np.concatenate([state["2.running_mean"], state["2.running_var"]]),
          np.concatenate([values["2.running_mean"], values["2.running_var"]]), atol=1e-6,
          what="the batch norm running statistics after protonet_step on a model in eval mode (they must not change)")
    grads = student.call("metakit.grading.harness:grad_arrays", model)
    check(all(g is None for g in grads.values()),
          "after protonet_step the model's parameters have gradients: return the loss and let the training loop "
          "call loss.backward() (do not call backward inside protonet_step)")
    # and in train mode it stays in train mode
    model, _ = _bn_model(student, seed=32, training=True)
    student.call("protonet_step", model, [tuple(tensor(a) for a in t) for t in tasks])
    check(student.attr(model, "training") is True,
          "protonet_step switched a model in train mode to eval mode: use it as it is")


@graded(points=2, timeout=40)
def test_protonet_step_random_tasks(student):
    """protonet_step on random task sizes (2 to 7 ways, 1 to 4 shots and queries, 1 to 3 tasks); floats returned"""
    rng = np.random.default_rng(40)
    for number in range(5):
        ways, shots, queries, count = (int(rng.integers(2, 8)), int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                                       int(rng.integers(1, 4)))
        if number == 0:
            ways, shots, queries, count = 2, 1, 1, 1
        tasks = _tasks(count, ways, shots, queries, seed=41 + 10 * number)
        model, weight, bias = _linear_model(student, 784, int(rng.integers(2, 9)), seed=42 + number)
        expected = _reference_step(tasks, weight, bias, ways)
        what = f"protonet_step on {count} task(s) of {ways}-way {shots}-shot with {queries} queries per class"
        kept = student.call("protonet_step", model, [tuple(tensor(a) for a in t) for t in tasks], keep=True)
        result = student.call("builtins:tuple", kept)
        check(isinstance(result, tuple) and len(result) == 3, f"{what} should return (loss, support_accuracy, "
                                                              f"query_accuracy)")
        loss, support_acc, query_acc = result
        check(isinstance(loss, np.ndarray), f"{what}: the loss should be a tensor; got {type(loss).__name__}")
        ndim = student.attr(student.call("operator:getitem", kept, 0, keep=True), "ndim")
        check(ndim == 0, f"{what}: the loss should be a scalar (0-d) tensor; yours has {ndim} dimension(s)")
        loss = loss.reshape(())
        for value, name in ((support_acc, "support_accuracy"), (query_acc, "query_accuracy")):
            check(isinstance(value, float), f"{what}: {name} should be a Python float (e.g. .item()); got "
                                            f"{type(value).__name__}")
        close(loss, expected["loss"], atol=1e-4, rtol=1e-4, what=f"{what}: the loss")
        close(support_acc, expected["support_acc"], atol=1e-6, what=f"{what}: the support accuracy")
        close(query_acc, expected["query_acc"], atol=1e-6, what=f"{what}: the query accuracy")
