"""Hidden graders of hw3, part 2: LoRALinear and inject_lora, against peft's LoRA (the reference
implementation, run here in the grading process)."""
import numpy as np
from conftest import (TOY_TEXTS, compare_names, describe, peft_linear_output, reference_parameters, tiny_model,
                      torch_state, trainable_names, verified_tiny)

from metakit.grading import StudentError, as_array, check, close, graded, tensor

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


@graded(points=2, timeout=120)
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
    scaling = student.attr(layer, "scaling")
    check(isinstance(scaling, (int, float)) and not isinstance(scaling, bool) and scaling == ALPHA / RANK,
          f"LoRALinear(..., rank={RANK}, alpha={ALPHA:g}).scaling should be the number alpha / rank = "
          f"{ALPHA / RANK:g}; yours is {scaling!r}")
    # A wide layer: lora_A follows kaiming_uniform_(a=sqrt(5)), i.e. uniform on [-1/sqrt(in), 1/sqrt(in)].
    base = student.call("torch.nn:Linear", 256, 64, keep=True)
    wide = student.call("LoRALinear", base, 8, 16.0, keep=True)
    a = np.asarray(student.call("metakit.grading.harness:state_arrays", wide)["lora_A"])
    bound = 1 / np.sqrt(256)
    check(a.shape == (8, 256), f"LoRALinear(nn.Linear(256, 64), rank=8).lora_A should have shape [8, 256]; yours "
                               f"has {list(a.shape)}")
    # 2,048 uniform values: the largest is within 2% of the bound but with probability 0.98 ** 2048 < 1e-17
    check(bound * 0.98 <= np.abs(a).max() <= bound * (1 + 1e-6) and 0.85 < a.std() / (bound / np.sqrt(3)) < 1.15,
          f"lora_A of LoRALinear(nn.Linear(256, 64), rank=8) should be initialised like nn.Linear's weight, "
          f"kaiming_uniform_(A, a=math.sqrt(5)): uniform on [-1/16, 1/16] (std {bound / np.sqrt(3):.4f}); yours has "
          f"values up to {np.abs(a).max():.4f} and std {a.std():.4f}")
    # Rank 1, the smallest rank, is a rank like any other.
    one = wrapped(student, rank=1, alpha=2.0)
    info = student.call("metakit.grading.harness:parameter_info", one)
    check(info.get("lora_A", {}).get("shape") == [1, IN] and info.get("lora_B", {}).get("shape") == [OUT, 1],
          f"LoRALinear(nn.Linear({IN}, {OUT}), rank=1, alpha=2) should have lora_A [1, {IN}] and lora_B [{OUT}, 1]")
    close(student.method(one, "forward", tensor(X)), base_output(X), atol=1e-6, rtol=0,
          what="a fresh rank-1 LoRALinear (it must equal the base layer's output)")
    # float64 base: the adapters follow the base's dtype.
    base = student.call("torch.nn:Linear", IN, OUT, keep=True)
    base = student.method(base, "double", keep=True)
    student.call("metakit.grading.harness:load_arrays", base, {"weight": WEIGHT, "bias": BIAS})
    layer64 = student.call("LoRALinear", base, RANK, ALPHA, keep=True)
    for name in ("lora_A", "lora_B"):
        value = student.attr(layer64, name)
        check(getattr(value, "dtype", None) == np.float64,
              f"LoRALinear on a float64 nn.Linear: {name} should be float64 like base.weight; yours is "
              f"{getattr(value, 'dtype', type(value).__name__)}")
    out = student.method(layer64, "forward", tensor(X.astype(np.float64)))
    check(getattr(out, "dtype", None) == np.float64, "LoRALinear on a float64 layer should return float64 outputs")
    close(out, base_output(X), atol=1e-10, rtol=0, what="a fresh float64 LoRALinear on float64 inputs")
    # A base on another device (PyTorch's shapes-only 'meta', as a GPU would be): the adapters are made there.
    base = student.call("torch.nn:Linear", IN, OUT, device="meta", keep=True)
    layer = student.call("LoRALinear", base, RANK, ALPHA, keep=True)
    info = student.call("metakit.grading.harness:parameter_info", layer)
    adapters = {name: info.get(name, {}).get("device") for name in ("lora_A", "lora_B")}
    check(adapters == {"lora_A": "meta", "lora_B": "meta"},
          f"LoRALinear on an nn.Linear on another device (PyTorch's 'meta' device, as a GPU would be): lora_A and "
          f"lora_B should be made on base.weight's device; yours are on {adapters}")


@graded(points=2, timeout=120)
def test_lora_layer_freezes_base(student):
    """only lora_A and lora_B are trainable; the base weight and bias are frozen"""
    layer = wrapped(student)
    info = student.call("metakit.grading.harness:parameter_info", layer)
    check("base.weight" in info and "base.bias" in info,
          f"LoRALinear should keep the wrapped layer as `base` (parameters base.weight, base.bias); "
          f"its parameters are {describe(info)}")
    compare_names(trainable_names(student, layer), ["lora_A", "lora_B"],
                  "the trainable parameters (requires_grad=True) of a new LoRALinear")


@graded(points=3, timeout=120)
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
    # A seeded sweep: other sizes, ranks, alphas and input shapes ([in], [B, in], [2, 2, 3, in]).
    rng = np.random.default_rng(7)
    for leading in ((), (5,), (2, 2, 3)):
        d_in, d_out, rank = int(rng.integers(3, 20)), int(rng.integers(2, 20)), int(rng.integers(1, 5))
        alpha = float(rng.choice([1.0, 2.0 * rank, 5.5]))
        weight, bias = rng.normal(size=(d_out, d_in)).astype(np.float32), rng.normal(size=d_out).astype(np.float32)
        a, b = rng.normal(size=(rank, d_in)).astype(np.float32), rng.normal(size=(d_out, rank)).astype(np.float32)
        x = rng.normal(size=(*leading, d_in)).astype(np.float32)
        expected = peft_linear_output(weight, bias, a, b, rank, alpha, x)
        base = student.call("torch.nn:Linear", d_in, d_out, keep=True)
        student.call("metakit.grading.harness:load_arrays", base, {"weight": weight, "bias": bias})
        layer = student.call("LoRALinear", base, rank, alpha, keep=True)
        student.call("metakit.grading.harness:load_arrays", layer, {"lora_A": a, "lora_B": b})
        close(student.method(layer, "forward", tensor(x)), expected, atol=1e-4, rtol=1e-4,
              what=f"LoRALinear(nn.Linear({d_in}, {d_out}), rank={rank}, alpha={alpha:g}) on inputs "
                   f"{list(x.shape)}, against peft")
    # The grader sets `scaling`; forward must use it.
    layer = wrapped(student)
    student.call("metakit.grading.harness:load_arrays", layer, {"lora_A": LORA_A, "lora_B": LORA_B})
    student.call("builtins:setattr", layer, "scaling", 0.5)
    expected = peft_linear_output(WEIGHT, BIAS, LORA_A, LORA_B, RANK, 0.5 * RANK, X)
    close(student.method(layer, "forward", tensor(X)), expected, atol=1e-4, rtol=1e-4,
          what="LoRALinear after setting layer.scaling = 0.5 (forward should use self.scaling)")


@graded(points=2, timeout=120)
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


@graded(points=2, timeout=120)
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


@graded(points=3, timeout=180)
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


@graded(points=2, timeout=120)
def test_inject_lora_matching_rules(student):
    """inject_lora's rules: a name that is a target, dotted targets, no partial words, alpha, ValueError, requires_grad"""
    model = verified_tiny(student)
    attention = student.method(model, "get_submodule", "encoder.encoder.layer.0.attention.self", keep=True)
    names = student.call("inject_lora", attention, 2)
    check(isinstance(names, list) and [str(n) for n in names] == ["query", "value"],
          'inject_lora on a BERT self-attention module (whose children are named "query", "key", "value") should '
          f'wrap the layers whose name *is* a target and return ["query", "value"]; it returned {names!r}')
    model = verified_tiny(student)
    encoder = student.attr(model, "encoder", keep=True)
    names = student.call("inject_lora", encoder, 2, ["self.query"], 3.0)
    expected = [f"encoder.layer.{i}.attention.self.query" for i in range(2)]
    check(isinstance(names, list) and [str(n) for n in names] == expected,
          f'inject_lora(model.encoder, 2, ["self.query"], 3.0) should wrap the layers whose name ends with '
          f'".self.query": {expected}; it returned {names!r}')
    layer = student.method(encoder, "get_submodule", expected[0], keep=True)
    scaling = student.attr(layer, "scaling")
    check(scaling == 1.5, f"inject_lora(..., rank=2, alpha=3.0): the wrapped layers' scaling should be "
                          f"3.0 / 2 = 1.5; yours is {scaling!r}")
    # Which parameters are trainable: inject_lora changes no requires_grad but the new ones and the wrapped bases.
    reference = reference_parameters()
    wrapped_bases = {f"encoder.{n}.{w}" for n in expected for w in ("weight", "bias")}
    expected_trainable = [n for n in reference if n not in wrapped_bases]
    got = [n.replace(".base.", ".") for n in trainable_names(student, model) if "lora_" not in n]
    compare_names(got, expected_trainable, "after inject_lora on a fresh model (every parameter trainable), the "
                                           "trainable pre-trained parameters (only the wrapped layers' weight and "
                                           "bias may be frozen: inject_lora changes no other requires_grad)")
    for targets, why in ((["uery"], 'no layer is named "uery" or ends with ".uery"'),
                         (["output"], 'no nn.Linear is named "output" or ends with ".output" (attention.output is '
                                      'a block, not an nn.Linear)')):
        try:
            names = student.call("inject_lora", student.attr(verified_tiny(student), "encoder", keep=True), 2, targets)
        except StudentError as exc:
            check("raised ValueError" in str(exc), f"inject_lora(model.encoder, 2, {targets}) ({why}) should raise a "
                                                   f"ValueError; {exc}")
        else:
            check(False, f"inject_lora(model.encoder, 2, {targets}) should raise a ValueError ({why}); it returned "
                         f"{names!r}")
