"""Hidden graders of hw3, part 1: parameters_to_fine_tune (which parameters, in which order, frozen or not).

The expected names come from a tiny classifier built here, in the grading process. The parameters the
student's function returns are identified here, from their values: before each call the grader writes a
distinct random fingerprint into every parameter (so no helper in the student's process names them)."""
import numpy as np
from conftest import compare_names, describe, reference_parameters, trainable_names, verified_tiny

from metakit.grading import Ref, StudentError, check, graded

HEAD = ["head.weight", "head.bias"]


def fingerprint(student, model) -> dict[str, np.ndarray]:
    """Write a distinct random value into every parameter of ``model``; name -> the values written."""
    info = student.call("metakit.grading.harness:parameter_info", model)
    rng = np.random.default_rng(len(info))
    marks = {name: rng.normal(size=i["shape"]).astype(np.float32) for name, i in info.items()}
    student.call("metakit.grading.harness:load_arrays", model, marks)
    return marks


def identify(value, marks: dict[str, np.ndarray]) -> str:
    """The name of the parameter whose fingerprint ``value`` carries (or a description of what it is)."""
    if isinstance(value, Ref):
        return f"<not a tensor: {value.type}>"
    array = np.asarray(value)
    for name, mark in marks.items():
        if array.shape == mark.shape and np.array_equal(array, mark):
            return name
    return f"<not a parameter of the model: shape {list(array.shape)}>"


def chosen_and_trainable(student, model, mode: str) -> tuple[list[str], list[str]]:
    marks = fingerprint(student, model)
    returned = student.call("parameters_to_fine_tune", model, mode)
    check(isinstance(returned, list), f'parameters_to_fine_tune(model, "{mode}") should return a list of '
                                      f'parameters; it returned a {getattr(returned, "type", type(returned).__name__)}')
    chosen = [identify(v, marks) for v in returned]
    repeated = sorted({n for n in chosen if chosen.count(n) > 1})
    check(not repeated, f'parameters_to_fine_tune(model, "{mode}") lists {describe(repeated)} more than once')
    order = [n for n in marks if n in chosen]  # model.parameters() order
    check(set(chosen) != set(order) or chosen == order,
          f'parameters_to_fine_tune(model, "{mode}") should list the parameters in model.parameters() order '
          f'({describe(order, 4)}); yours come as {describe(chosen, 4)}')
    return chosen, trainable_names(student, model)


def expected_count(names, reference) -> int:
    return sum(reference[n] for n in names)


@graded(points=3, timeout=120)
def test_head_and_all_modes(student):
    """mode "head": exactly the head; mode "all": everything, in order; calling again with another mode switches"""
    reference = reference_parameters()
    model = verified_tiny(student)
    chosen, trainable = chosen_and_trainable(student, model, "head")
    compare_names(chosen, HEAD, 'parameters_to_fine_tune(model, "head") returned the wrong parameters')
    compare_names(trainable, HEAD, 'after parameters_to_fine_tune(model, "head"), the parameters with '
                                   'requires_grad=True are wrong (the head must be trainable, the encoder frozen)')
    chosen, trainable = chosen_and_trainable(student, model, "all")
    compare_names(chosen, list(reference), f'parameters_to_fine_tune(model, "all") should return all '
                                           f'{sum(reference.values()):,} scalars of the model')
    compare_names(trainable, list(reference), 'after parameters_to_fine_tune(model, "all") the trainable parameters')
    chosen, trainable = chosen_and_trainable(student, model, "head")
    compare_names(trainable, HEAD, 'parameters_to_fine_tune(model, "all") then (model, "head"): the trainable '
                                   'parameters (set requires_grad=False on every parameter you do not return)')


@graded(points=2, timeout=120)
def test_last_k_mode(student):
    """mode "last<k>": the last k transformer blocks and the head (names, order), k up to the number of blocks"""
    reference = reference_parameters(layers=3)
    model = verified_tiny(student, layers=3)
    for k in (1, 2, 3, 1):  # k = 3 is every block; the last pass checks that switching back re-freezes
        blocks = [f"encoder.encoder.layer.{i}." for i in range(3 - k, 3)]
        expected = [n for n in reference if any(n.startswith(b) for b in blocks)] + HEAD
        chosen, trainable = chosen_and_trainable(student, model, f"last{k}")
        compare_names(chosen, expected, f'on a 3-block model, parameters_to_fine_tune(model, "last{k}") '
                                        f'should return blocks {3 - k}..2 and the head '
                                        f'({expected_count(expected, reference):,} scalars)')
        compare_names(trainable, expected, f'after parameters_to_fine_tune(model, "last{k}") the trainable parameters '
                                           f'(requires_grad=True)')


@graded(points=2, timeout=120)
def test_lora_mode(student):
    """mode "lora": the LoRA matrices of the injected layers and the head, in order, nothing else"""
    model = verified_tiny(student)
    encoder = student.attr(model, "encoder", keep=True)
    student.call("inject_lora", encoder, 2, ["query", "value"], 4.0)
    expected = [f"encoder.encoder.layer.{i}.attention.self.{t}.lora_{m}"
                for i in range(2) for t in ("query", "value") for m in ("A", "B")] + HEAD
    chosen, trainable = chosen_and_trainable(student, model, "lora")
    compare_names(chosen, expected, 'after inject_lora(model.encoder, 2, ["query", "value"]), '
                                    'parameters_to_fine_tune(model, "lora") should return the lora_A and lora_B '
                                    f'of the 4 wrapped layers and the head ({4 * 2 * (32 + 32) + 99} scalars)')
    compare_names(trainable, expected, 'after parameters_to_fine_tune(model, "lora") the trainable parameters '
                                       '(the pre-trained weights, base.weight and base.bias included, must be frozen)')


@graded(points=1, timeout=120)
def test_bad_modes_raise_value_error(student):
    """an unknown mode (named in the message), "last0", "last<k>" with k too large, and "lora" without adapters are ValueErrors"""
    model = verified_tiny(student)
    for mode, why in (("middle", "an unknown mode"), ("last3", "k larger than the 2 blocks of the model"),
                      ("last0", "k must be at least 1"), ("lora", "no LoRA parameters (inject_lora was not called)")):
        try:
            student.call("parameters_to_fine_tune", model, mode, keep=True)
        except StudentError as exc:
            check("raised ValueError" in str(exc),
                  f'parameters_to_fine_tune(model, "{mode}") ({why}) should raise a ValueError; {exc}')
            if mode == "middle":
                check("middle" in str(exc), f'the ValueError for the unknown mode "middle" should name the mode; '
                                            f'yours says: {exc}')
        else:
            check(False, f'parameters_to_fine_tune(model, "{mode}") ({why}) should raise a ValueError; it '
                         f'returned normally')
