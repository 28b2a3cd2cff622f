"""Hidden graders of hw3, part 3: finetune (what moves in each mode, that it learns, and one run on the
real pre-trained model). Accuracies are computed here from the logits the model returns."""
import numpy as np
from conftest import TOY_LABELS, TOY_TEXTS, describe, tiny_model

from metakit.grading import as_array, check, graded, tensor

# Calibrated with benchmarks/calibrate_hw3.py (the reference passes on 20 seeds of 20).
REAL_WAYS, REAL_SHOTS, REAL_QUERIES, REAL_STEPS = 5, 4, 6, 15
REAL_MIN_ACCURACY = 0.7
TINY_STEPS = 40


def state(student, model) -> dict:
    return student.call("metakit.grading.harness:state_arrays", model)


def moved(before: dict, after: dict) -> list[str]:
    return [n for n in after if n in before and not np.array_equal(before[n], after[n])]


def check_losses(losses, steps: int) -> np.ndarray:
    values = as_array(losses, "the list finetune returns")
    check(values.shape == (steps,), f"finetune(..., steps={steps}) should return {steps} losses; it returned "
                                    f"{values.size}")
    check(np.isfinite(values).all(), "finetune returned a non-finite loss")
    return values


@graded(points=3, timeout=60)
def test_lora_finetuning_moves_only_adapters_and_head(student):
    """fine-tuning in "lora" mode changes lora_B and the head and leaves every pre-trained weight unchanged"""
    model = tiny_model(student)
    student.call("inject_lora", student.attr(model, "encoder", keep=True), 2, ["query", "value"], 4.0)
    before = state(student, model)
    losses = student.call("finetune", model, (TOY_TEXTS, tensor(TOY_LABELS)), "lora", steps=5, lr=1e-2)
    check_losses(losses, 5)
    after = state(student, model)
    changed = moved(before, after)
    pretrained = [n for n in changed if "lora_" not in n and not n.startswith("head.")]
    check(not pretrained, f'fine-tuning in "lora" mode changed pre-trained weights: {describe(pretrained)} '
                          f'(only the LoRA matrices and the head may move)')
    check(any("lora_B" in n for n in changed), 'fine-tuning in "lora" mode did not change any lora_B')
    check("head.weight" in changed, 'fine-tuning in "lora" mode did not change the head')


@graded(points=2, timeout=60)
def test_head_finetuning_moves_only_the_head(student):
    """fine-tuning in "head" mode changes the head and nothing else"""
    model = tiny_model(student)
    before = state(student, model)
    losses = student.call("finetune", model, (TOY_TEXTS, tensor(TOY_LABELS)), "head", steps=3)
    check_losses(losses, 3)
    changed = moved(before, state(student, model))
    check(set(changed) == {"head.weight", "head.bias"},
          f'fine-tuning in "head" mode should change exactly head.weight and head.bias; it changed '
          f'{describe(changed)}')


@graded(points=2, timeout=60)
def test_finetuning_fits_the_support_set(student):
    """fine-tuning all parameters of a tiny BERT fits a 3-way support set, and the loss goes down"""
    model = tiny_model(student, seed=3)
    losses = student.call("finetune", model, (TOY_TEXTS, tensor(TOY_LABELS)), "all", steps=TINY_STEPS, lr=3e-3,
                          head_lr=3e-2, batch_size=6, seed=1)
    values = check_losses(losses, TINY_STEPS)
    check(values[-5:].mean() < 0.5 * values[:5].mean(),
          f"the training loss did not go down: first steps {values[:5].mean():.3f}, last steps "
          f"{values[-5:].mean():.3f}")
    student.method(model, "eval")
    logits = as_array(student.method(model, "forward", TOY_TEXTS), "the model's logits", shape=(9, 3))
    accuracy = float((logits.argmax(1) == TOY_LABELS).mean())
    check(accuracy == 1.0, f"after {TINY_STEPS} steps on 9 support sentences, the model should classify all of "
                           f"them correctly; it gets {accuracy:.0%}")
    check(not student.attr(model, "training"), "finetune should leave the model in eval mode (model.eval())")


@graded(points=4, timeout=150, memory_mb=4096)
def test_real_model_lora_episode(student):
    """the real all-MiniLM-L6-v2 with LoRA learns a 5-way 4-shot meta-test episode; its weights stay put"""
    from metakit.textdata import TextEpisodeSampler, intent_splits

    _, meta_test = intent_splits()
    episode = TextEpisodeSampler(meta_test, REAL_WAYS, REAL_SHOTS, REAL_QUERIES, seed=7).episode(0)
    model = student.call("metakit.lm:sentence_classifier", REAL_WAYS, keep=True)
    watched = ["encoder.encoder.layer.0.attention.self.query.weight", "encoder.encoder.layer.5.attention.self.value.weight",
               "encoder.encoder.layer.3.output.dense.weight", "encoder.embeddings.LayerNorm.weight"]
    before = {n: student.method(model, "get_parameter", n) for n in watched}
    student.call("inject_lora", student.attr(model, "encoder", keep=True), 4)
    losses = student.call("finetune", model, (episode.support_texts, tensor(episode.support_labels.numpy())),
                          "lora", steps=REAL_STEPS)
    check_losses(losses, REAL_STEPS)
    names = student.call("metakit.grading.harness:parameter_info", model)
    for name in watched:
        wrapped = name.replace(".weight", ".base.weight")
        now = wrapped if wrapped in names else name
        check(now in names, f"after inject_lora the pre-trained weight {name} is gone (neither {name} nor {wrapped})")
        check(np.array_equal(student.method(model, "get_parameter", now), before[name]),
              f"{now} changed during LoRA fine-tuning: the pre-trained weights must stay frozen")
    student.method(model, "eval")
    logits = as_array(student.method(model, "forward", episode.query_texts), "the model's logits",
                      shape=(len(episode.query_texts), REAL_WAYS))
    accuracy = float((logits.argmax(1) == episode.query_labels.numpy()).mean())
    check(accuracy >= REAL_MIN_ACCURACY,
          f"after {REAL_STEPS} LoRA fine-tuning steps (rank 4, your default learning rates) on a 5-way 4-shot "
          f"episode, the query accuracy is {accuracy:.0%}; the reference gets well above "
          f"{REAL_MIN_ACCURACY:.0%} (chance is 20%)")
