"""Hidden graders of hw3, part 1: parameters_to_fine_tune (which parameters, how many, frozen or not).

The expected names and counts come from a tiny classifier built here, in the grading process."""
from conftest import compare_names, reference_parameters, tiny_model, trainable_names

from metakit.grading import StudentError, check, graded

HEAD = ["head.weight", "head.bias"]


def chosen_and_trainable(student, model, mode: str) -> tuple[list[str], list[str]]:
    params = student.call("parameters_to_fine_tune", model, mode, keep=True)
    chosen = student.call("metakit.lm:parameter_names", model, params)
    return chosen, trainable_names(student, model)


def expected_count(names, reference) -> int:
    return sum(reference[n] for n in names)


@graded(points=3, timeout=40)
def test_head_and_all_modes(student):
    """mode "head": exactly the head; mode "all": everything; calling again with another mode switches"""
    reference = reference_parameters()
    model = tiny_model(student)
    chosen, trainable = chosen_and_trainable(student, model, "head")
    compare_names(chosen, HEAD, 'parameters_to_fine_tune(model, "head") returned the wrong parameters')
    compare_names(trainable, HEAD, 'after parameters_to_fine_tune(model, "head"), the parameters with '
                                   'requires_grad=True are wrong (the head must be trainable, the encoder frozen)')
    chosen, trainable = chosen_and_trainable(student, model, "all")
    compare_names(chosen, list(reference), f'parameters_to_fine_tune(model, "all") should return all '
                                           f'{sum(reference.values()):,} scalars of the model')
    compare_names(trainable, list(reference), 'after "all" the trainable parameters')
    chosen, trainable = chosen_and_trainable(student, model, "head")
    compare_names(trainable, HEAD, 'parameters_to_fine_tune(model, "all") then (model, "head"): the trainable '
                                   'parameters (set requires_grad=False on every parameter you do not return)')


@graded(points=2, timeout=40)
def test_last_k_mode(student):
    """mode "last<k>": the last k transformer blocks and the head (counts and names)"""
    reference = reference_parameters(layers=3)
    model = tiny_model(student, layers=3)
    for k in (1, 2, 1):  # the last pass checks that switching back re-freezes block 1
        blocks = [f"encoder.encoder.layer.{i}." for i in range(3 - k, 3)]
        expected = [n for n in reference if any(n.startswith(b) for b in blocks)] + HEAD
        chosen, trainable = chosen_and_trainable(student, model, f"last{k}")
        compare_names(chosen, expected, f'on a 3-block model, parameters_to_fine_tune(model, "last{k}") '
                                        f'should return blocks {3 - k}..2 and the head '
                                        f'({expected_count(expected, reference):,} scalars)')
        compare_names(trainable, expected, f'after "last{k}" the trainable parameters (requires_grad=True)')


@graded(points=2, timeout=40)
def test_lora_mode(student):
    """mode "lora": the LoRA matrices of the injected layers and the head, nothing else"""
    model = tiny_model(student)
    encoder = student.attr(model, "encoder", keep=True)
    student.call("inject_lora", encoder, 2, ["query", "value"], 4.0)
    expected = [f"encoder.encoder.layer.{i}.attention.self.{t}.lora_{m}"
                for i in range(2) for t in ("query", "value") for m in ("A", "B")] + HEAD
    chosen, trainable = chosen_and_trainable(student, model, "lora")
    compare_names(chosen, expected, 'after inject_lora(model.encoder, 2, ["query", "value"]), '
                                    'parameters_to_fine_tune(model, "lora") should return the lora_A and lora_B '
                                    f'of the 4 wrapped layers and the head ({4 * 2 * (32 + 32) + 99} scalars)')
    compare_names(trainable, expected, 'after "lora" the trainable parameters (the pre-trained weights, '
                                       'base.weight and base.bias included, must be frozen)')


@graded(points=1, timeout=40)
def test_bad_modes_raise_value_error(student):
    """an unknown mode, "last<k>" with k too large, and "lora" without adapters are ValueErrors"""
    model = tiny_model(student)
    for mode, why in (("middle", "an unknown mode"), ("last3", "k larger than the 2 blocks of the model"),
                      ("lora", "no LoRA parameters (inject_lora was not called)")):
        try:
            student.call("parameters_to_fine_tune", model, mode, keep=True)
        except StudentError as exc:
            check("raised ValueError" in str(exc),
                  f'parameters_to_fine_tune(model, "{mode}") ({why}) should raise a ValueError; {exc}')
        else:
            check(False, f'parameters_to_fine_tune(model, "{mode}") ({why}) should raise a ValueError; it '
                         f'returned normally')
