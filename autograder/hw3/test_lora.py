"""Hidden graders of hw3, part 2: LoRALinear and inject_lora, against peft's LoRA (the reference
implementation, run here in the grading process)."""
import numpy as np
from conftest import (TOY_TEXTS, compare_names, describe, peft_linear_output, tiny_model, torch_state,
                      trainable_names)

from metakit.grading import as_array, check, close, graded, tensor

IN, OUT, RANK, ALPHA = 12, 7, 4, 12.0  # scaling alpha / rank = 3
RNG = np.random.default_rng(2024)
WEIGHT = (RNG.normal(size=(OUT, IN)) * 0.3).astype(np.float32)
BIAS = RNG.normal(size=OUT).astype(np.float32)
LORA_A = RNG.normal(size=(RANK, IN)).astype(np.float32)
LORA_B = RNG.normal(size=(OUT, RANK)).astype(np.float32)
X = RNG.normal(size=(2, 3, IN)).astype(np.float32)  # leading dimensions [2, 3]


def wrapped(student, rank: int = RANK, alpha: float = ALPHA):
    """An nn.Linear(IN, OUT) with the grader's weights, wrapped by the student's LoRALinear."""
    base = student.call("torch.nn:Linear", IN, OUT, keep=True)
    student.call("metakit.grading.harness:load_arrays", base, {"weight": WEIGHT, "bias": BIAS})
    return student.call("LoRALinear", base, rank, alpha, keep=True)


def base_output(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) @ WEIGHT.T.astype(np.float64) + BIAS


@graded(points=2, timeout=30)
def test_fresh_lora_layer_equals_base(student):
    """a freshly wrapped layer computes exactly what the base layer computes (B = 0), with A [r, in] and B [out, r]"""
    layer = wrapped(student)
    info = student.call("metakit.grading.harness:parameter_info", layer)
    for name, shape in (("lora_A", [RANK, IN]), ("lora_B", [OUT, RANK])):
        check(name in info, f"LoRALinear(nn.Linear({IN}, {OUT}), rank={RANK}, alpha={ALPHA:g}) has no parameter "
                            f"named {name} (its parameters: {describe(info)})")
        check(info[name]["shape"] == shape, f"{name} should have shape {shape} ([rank, in_features] for A, "
                                            f"[out_features, rank] for B); yours is {info[name]['shape']}")
    output = student.method(layer, "forward", tensor(X))
    close(output, base_output(X), atol=1e-6, rtol=0,
          what=f"a freshly created LoRALinear on inputs [2, 3, {IN}] (it must equal the base layer's output)")
    state = student.call("metakit.grading.harness:state_arrays", layer)
    check(np.all(state["lora_B"] == 0), "lora_B must start at zero")
    check(np.any(state["lora_A"] != 0), "lora_A must start at random values, not zero (see question 1)")


@graded(points=2, timeout=30)
def test_lora_layer_freezes_base(student):
    """only lora_A and lora_B are trainable; the base weight and bias are frozen"""
    layer = wrapped(student)
    info = student.call("metakit.grading.harness:parameter_info", layer)
    check("base.weight" in info and "base.bias" in info,
          f"LoRALinear should keep the wrapped layer as `base` (parameters base.weight, base.bias); "
          f"its parameters are {describe(info)}")
    compare_names(trainable_names(student, layer), ["lora_A", "lora_B"],
                  "the trainable parameters (requires_grad=True) of a new LoRALinear")


@graded(points=3, timeout=60)
def test_lora_matches_peft(student):
    """with the same A and B, LoRALinear computes what peft's LoRA computes (scaling alpha / rank)"""
    expected = peft_linear_output(WEIGHT, BIAS, LORA_A, LORA_B, RANK, ALPHA, X)
    layer = wrapped(student)
    student.call("metakit.grading.harness:load_arrays", layer, {"lora_A": LORA_A, "lora_B": LORA_B})
    close(student.method(layer, "forward", tensor(X)), expected, atol=1e-4, rtol=1e-4,
          what=f"LoRALinear(rank={RANK}, alpha={ALPHA:g}) with given A and B, against peft "
               f"(check the scaling alpha / rank = {ALPHA / RANK:g})")
    expected_r2 = peft_linear_output(WEIGHT, BIAS, LORA_A[:2], LORA_B[:, :2], 2, 1.0, X)
    layer = wrapped(student, rank=2, alpha=1.0)
    student.call("metakit.grading.harness:load_arrays", layer, {"lora_A": LORA_A[:2], "lora_B": LORA_B[:, :2]})
    close(student.method(layer, "forward", tensor(X)), expected_r2, atol=1e-4, rtol=1e-4,
          what="LoRALinear(rank=2, alpha=1) with given A and B, against peft")


@graded(points=2, timeout=60)
def test_lora_gradients(student):
    """gradients reach A and B (B at once, from the random A) and match peft's; none reach the base"""
    layer = wrapped(student)
    student.call("metakit.grading.harness:input_grads", layer, tensor(X))
    grads = student.call("metakit.grading.harness:grad_arrays", layer)
    check(grads.get("base.weight") is None and grads.get("base.bias") is None,
          "the base layer's weight or bias received a gradient: freeze them (requires_grad=False)")
    check(grads.get("lora_B") is not None and np.abs(grads["lora_B"]).max() > 1e-6,
          "at the first step lora_B gets no gradient: dL/dB = scaling * g (A x)^T is zero when A is zero; "
          "initialise A at random values")
    _, grad_a, grad_b, grad_x = peft_linear_output(WEIGHT, BIAS, LORA_A, LORA_B, RANK, ALPHA, X, grads=True)
    layer = wrapped(student)
    student.call("metakit.grading.harness:load_arrays", layer, {"lora_A": LORA_A, "lora_B": LORA_B})
    out = student.call("metakit.grading.harness:input_grads", layer, tensor(X, requires_grad=True))
    check(out["grads"] is not None, "the output of LoRALinear does not depend on its input through autograd")
    close(out["grads"][0], grad_x, atol=1e-3, rtol=1e-4, what="the gradient of sum(LoRALinear(x)) with respect to x")
    grads = student.call("metakit.grading.harness:grad_arrays", layer)
    close(grads["lora_A"], grad_a, atol=1e-3, rtol=1e-4, what="the gradient with respect to lora_A")
    close(grads["lora_B"], grad_b, atol=1e-3, rtol=1e-4, what="the gradient with respect to lora_B")


@graded(points=2, timeout=40)
def test_inject_lora_wraps_the_named_layers(student):
    """inject_lora wraps exactly the nn.Linear layers named by targets, with the right shapes"""
    model = tiny_model(student)
    encoder = student.attr(model, "encoder", keep=True)
    names = student.call("inject_lora", encoder, 2, ["query", "value"])
    expected = [f"encoder.layer.{i}.attention.self.{t}" for i in range(2) for t in ("query", "value")]
    check(isinstance(names, list) and [str(n) for n in names] == expected,
          f'inject_lora(model.encoder, 2, ["query", "value"]) should return {expected}; it returned {names!r}')
    info = student.call("metakit.grading.harness:parameter_info", model)
    lora = {n: i["shape"] for n, i in info.items() if "lora_" in n}
    expected_lora = {f"encoder.{n}.lora_{m}": ([2, 32] if m == "A" else [32, 2]) for n in expected for m in "AB"}
    compare_names(lora, expected_lora, "the LoRA parameters after wrapping query and value")
    for name, shape in expected_lora.items():
        check(lora[name] == shape, f"{name} should have shape {shape}; yours is {lora[name]}")
    for name in expected:
        check(f"encoder.{name}.base.weight" in info, f"the wrapped layer encoder.{name} should keep its weight "
                                                     f"as encoder.{name}.base.weight")
    other = tiny_model(student)
    names = student.call("inject_lora", student.attr(other, "encoder", keep=True), 3, ["dense"])
    expected = [f"encoder.layer.{i}.{m}.dense" for i in range(2) for m in ("attention.output", "intermediate", "output")]
    check([str(n) for n in names] == expected,
          f'inject_lora(model.encoder, 3, ["dense"]) should wrap every layer whose name ends with ".dense": '
          f'{expected}; it returned {names!r}')
    info = student.call("metakit.grading.harness:parameter_info", other)
    check(info.get("encoder.encoder.layer.0.intermediate.dense.lora_B", {}).get("shape") == [64, 3],
          "after wrapping intermediate.dense (32 -> 64) with rank 3, its lora_B should have shape [64, 3]")


@graded(points=3, timeout=90)
def test_injected_model_matches_peft(student):
    """a tiny BERT classifier with your inject_lora (default alpha = 2 * rank) matches peft on the same model"""
    import peft
    import torch

    from metakit.lm import tiny_classifier

    rng = np.random.default_rng(99)
    model = tiny_model(student, seed=5)
    head = {"head.weight": rng.normal(size=(3, 32)).astype(np.float32), "head.bias": rng.normal(size=3).astype(np.float32)}
    student.call("metakit.grading.harness:load_arrays", model, head)
    state = student.call("metakit.grading.harness:state_arrays", model)
    student.call("inject_lora", student.attr(model, "encoder", keep=True), 2)
    lora = {f"encoder.encoder.layer.{i}.attention.self.{t}.lora_{m}":
            (rng.normal(size=(2, 32)) if m == "A" else rng.normal(size=(32, 2)) * 0.5).astype(np.float32)
            for i in range(2) for t in ("query", "value") for m in "AB"}
    student.call("metakit.grading.harness:load_arrays", model, lora)
    student.method(model, "eval")
    got = as_array(student.method(model, "forward", TOY_TEXTS), "the model's logits", shape=(len(TOY_TEXTS), 3))

    reference = tiny_classifier(3)
    reference.load_state_dict(torch_state(state), strict=False)  # float tensors; int buffers are fixed
    wrapped_ref = peft.get_peft_model(reference, peft.LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"],
                                                                 lora_dropout=0.0))
    params = dict(wrapped_ref.named_parameters())
    with torch.no_grad():
        for name, value in lora.items():
            prefix, _, which = name.rpartition(".")
            params[f"base_model.model.{prefix}.{which}.default.weight"].copy_(torch.as_tensor(value))
    wrapped_ref.eval()
    with torch.no_grad():
        expected = wrapped_ref(TOY_TEXTS).double().numpy()
    close(got, expected, atol=1e-4, rtol=1e-4,
          what='the logits of a tiny BERT classifier after inject_lora(model.encoder, 2) (targets query and '
               'value, alpha = 2 * rank) with given A and B, against the same model wrapped by peft')
