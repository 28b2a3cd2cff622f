"""Hidden graders of hw3, part 3: finetune. Every run is repeated here, in the grading process, by the
grader's own copy of the loop the notebook's Part 3 specifies (conftest.grader_finetune), on the same
tiny BERT: the student's trained weights must be the ones that loop reaches, and accuracies are
computed here, by a model built here, from the weights the student's run left behind."""
import numpy as np
from conftest import (TOY_LABELS, TOY_TEXTS, WEIGHT_ATOL, describe, grader_finetune, grader_inject,
                      grader_logits, load_state, local_tiny, softmax, tiny_model, verdict_on_meta,
                      verified_tiny, weight_gap)

from metakit.grading import check, graded, tensor

# Calibrated with benchmarks/calibrate_hw3.py (the reference passes on 20 seeds of 20).
REAL_WAYS, REAL_SHOTS, REAL_QUERIES, REAL_STEPS = 5, 4, 6, 15
REAL_MIN_ACCURACY = 0.7
REAL_RELATIVE_GAP = 1e-3  # rounding: about 2e-6 of how far the adapters move
TINY_STEPS, FIT_BATCH = 40, 5

# The documented defaults (the constants of the notebook's finetune cell), used when a submission
# does not define them.
DEFAULTS = {"LEARNING_RATES": {"head": 1e-2, "last": 2e-4, "all": 1e-4, "lora": 1e-3}, "HEAD_LR": 1e-2,
            "FINETUNE_STEPS": 30, "BATCH_SIZE": 16}

# 20 support sentences of 4 classes (more than the default batch of 16, so batches are subsets).
WIDE_TEXTS = ["book a flight to rome", "cheapest train to paris", "hotel near the airport", "rent a car in berlin",
              "is my flight on time", "turn on the kitchen lights", "set the heating to twenty", "lock the front door",
              "dim the bedroom lamp", "open the garage", "order a large pizza", "find sushi near me",
              "book a table for two", "vegan lunch delivery", "coffee to go please", "my laptop will not start",
              "reset my wifi password", "the printer is jammed", "update my phone", "screen keeps flickering"]
WIDE_LABELS = np.repeat(np.arange(4), [7, 6, 4, 3]).astype(np.int64)
# At the first step the head is zero, so a minibatch with as many examples of every class gives the head's
# bias a true gradient of exactly zero (which AdamW turns into a step of +-lr from rounding noise): every
# run below uses batches that cannot be balanced (batch sizes that are not multiples of the number of
# classes, or 8 = 3 + 3 + 2 sentences when the batch is the whole support set).
TOY8_TEXTS, TOY8_LABELS = TOY_TEXTS[:8], TOY_LABELS[:8]


def state(student, model) -> dict:
    return student.call("metakit.grading.harness:state_arrays", model)


def moved(before: dict, after: dict) -> list[str]:
    return [n for n in after if n in before and not np.array_equal(before[n], after[n])]


def check_losses(losses, steps: int, call: str) -> np.ndarray:
    check(isinstance(losses, list), f"{call} should return a list of {steps} Python floats; it returned a "
                                    f"{type(losses).__name__}")
    check(len(losses) == steps, f"{call} should return {steps} losses; it returned {len(losses)}")
    check(all(isinstance(v, float) for v in losses),
          f"{call} should return Python floats (loss.item()); it returned "
          f"{describe(sorted({type(v).__name__ for v in losses if not isinstance(v, float)}))}")
    values = np.asarray(losses, dtype=np.float64)
    check(np.isfinite(values).all(), f"{call} returned a non-finite loss")
    return values


def call_text(mode: str, kwargs: dict) -> str:
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f'finetune(model, support, "{mode}"{args})'


def student_run(student, mode: str, texts, labels, num_classes: int = 3, model_seed: int = 0, lora: tuple | None = None,
                model_config: dict | None = None, reuse=None, **kwargs):
    """Run the student's finetune on a verified tiny model; ``(model ref, losses, state before, state after)``.
    ``reuse``: ``(model ref, its state)`` of a verified model without LoRA, reset to that state and reused."""
    if reuse is not None and lora is None:
        model = reuse[0]
        student.call("metakit.grading.harness:load_arrays", model, reuse[1])
    else:
        model = verified_tiny(student, num_classes, seed=model_seed, **(model_config or {}))
    if lora is not None:
        student.call("inject_lora", student.attr(model, "encoder", keep=True), lora[0], ["query", "value"], lora[1])
    before = state(student, model)
    losses = student.call("finetune", model, (list(texts), tensor(labels)), mode, **kwargs)
    return model, losses, before, state(student, model)


def reference_run(mode: str, texts, labels, before: dict, num_classes: int = 3, seed: int = 0,
                  lora: tuple | None = None, model_config: dict | None = None, steps: int = 30, lr: float = 1e-4,
                  head_lr: float = 1e-2, batch_size: int = 16, run_seed: int = 0):
    """The grader's own run from the same starting weights (LoRA matrices as the student's layer made them)."""
    model = local_tiny(num_classes, seed=seed, **(model_config or {}))
    if lora is not None:
        arrays = {k.removeprefix("encoder."): v for k, v in before.items() if ".lora_" in k}
        check(arrays, "after inject_lora the model has no lora_A / lora_B parameters")
        grader_inject(model.encoder, arrays, lora[1] / lora[0])
    load_state(model, before)
    losses = grader_finetune(model, list(texts), labels, mode, steps, lr, head_lr, batch_size, run_seed)
    expected = {k: v.detach().double().numpy() for k, v in model.state_dict().items() if v.is_floating_point()}
    return model, np.asarray(losses), expected


def check_same_run(call: str, got_losses: np.ndarray, got: dict, losses: np.ndarray, expected: dict) -> None:
    renamed = {k.replace(".base.", ".") if k not in expected else k: v for k, v in got.items()}
    missing = [k for k in expected if k not in renamed]
    check(not missing, f"after {call} the model lacks {describe(missing)}")
    gap, where = weight_gap(renamed, expected)
    check(gap <= WEIGHT_ATOL,
          f"after {call} the weights are not those of the loop Part 3 describes, run from the same start (largest "
          f"difference {gap:.3g}, in {where}). Check: one AdamW with weight_decay=0 and two groups (the head at "
          f"head_lr, the other chosen parameters at lr); each step a minibatch "
          f"torch.randperm(S, generator=g)[:batch_size] with g = torch.Generator().manual_seed(seed); the "
          f"cross-entropy of model(batch texts) against their labels; one step per loss")
    check(np.allclose(got_losses, losses, atol=1e-4, rtol=1e-4),
          f"{call} returned the losses {np.round(got_losses, 4).tolist()[:6]}...; the loop Part 3 describes gives "
          f"{np.round(losses, 4).tolist()[:6]}... (the loss of each step's minibatch, before its update)")


# Configurations of the sweep: (mode, LoRA (rank, alpha) or None, keyword arguments of finetune).
SWEEP = [
    ("head", None, dict(steps=6, lr=1e-3, head_lr=5e-2, batch_size=2, seed=5)),
    ("last1", None, dict(steps=8, lr=1e-3, head_lr=2e-2, batch_size=5, seed=2)),
    ("all", None, dict(steps=10, lr=3e-3, head_lr=3e-2, batch_size=4, seed=3)),
    ("all", None, dict(steps=5, lr=2e-3, head_lr=1e-2, batch_size=50, seed=7)),   # batch larger than the support
    ("lora", (2, 6.0), dict(steps=6, lr=5e-3, head_lr=2e-2, batch_size=4, seed=4)),
]


@graded(points=4, timeout=300)
def test_finetune_follows_the_documented_loop(student):
    """finetune's weights and losses are those of Part 3's loop, for every mode, seed, lr, head_lr and batch_size"""
    shared = verified_tiny(student, 3, seed=1)
    reuse = (shared, state(student, shared))
    for mode, lora, kwargs in SWEEP:
        call = call_text(mode, kwargs)
        texts, labels = (TOY8_TEXTS, TOY8_LABELS) if kwargs["batch_size"] >= 8 else (TOY_TEXTS, TOY_LABELS)
        _, losses, before, after = student_run(student, mode, texts, labels, model_seed=1, lora=lora,
                                               reuse=reuse, **kwargs)
        values = check_losses(losses, kwargs["steps"], call)
        _, ref_losses, expected = reference_run(mode, texts, labels, before, seed=1, lora=lora,
                                                steps=kwargs["steps"], lr=kwargs["lr"], head_lr=kwargs["head_lr"],
                                                batch_size=kwargs["batch_size"], run_seed=kwargs["seed"])
        check_same_run(call, values, after, ref_losses, expected)


def student_constants(student) -> dict:
    """The submission's LEARNING_RATES, HEAD_LR, FINETUNE_STEPS and BATCH_SIZE (documented values if absent)."""
    found = dict(DEFAULTS)
    for name in DEFAULTS:
        if student.has(name):
            value = student.method(student.ref(name), "copy") if name == "LEARNING_RATES" else \
                student.method(student.ref(name), "__float__")
            check(isinstance(value, (dict, float)), f"{name} should be a number (or, for LEARNING_RATES, a dict)")
            found[name] = value
    rates = found["LEARNING_RATES"]
    check(isinstance(rates, dict) and all(isinstance(rates.get(k), (int, float)) for k in ("head", "last", "all", "lora")),
          f"LEARNING_RATES should map each family (head, last, all, lora) to a learning rate; yours: {rates!r}")
    return found


@graded(points=2, timeout=180)
def test_finetune_defaults(student):
    """finetune's defaults: steps, batch_size, seed 0, head_lr and lr = LEARNING_RATES[family] ("last2" -> "last")"""
    constants = student_constants(student)
    for mode, kwargs in (("last1", {}), ("all", {"steps": 4})):
        call = call_text(mode, kwargs)
        _, losses, before, after = student_run(student, mode, WIDE_TEXTS, WIDE_LABELS, num_classes=4, model_seed=2, **kwargs)
        steps = int(kwargs.get("steps", constants["FINETUNE_STEPS"]))
        values = check_losses(losses, steps, call)
        family = "last" if mode.startswith("last") else mode
        _, ref_losses, expected = reference_run(mode, WIDE_TEXTS, WIDE_LABELS, before, num_classes=4, seed=2,
                                                steps=steps, lr=float(constants["LEARNING_RATES"][family]),
                                                head_lr=float(constants["HEAD_LR"]),
                                                batch_size=int(constants["BATCH_SIZE"]), run_seed=0)
        check_same_run(call + " (all other arguments at their defaults)", values, after, ref_losses, expected)


@graded(points=2, timeout=180)
def test_finetune_modes_and_edge_cases(student):
    """finetune trains in train mode, leaves eval mode, and handles 0 steps, 1 step and a single class"""
    # A single class: every loss is exactly zero, so every gradient is zero and nothing may move.
    call = call_text("all", dict(steps=3, lr=1e-2))
    _, losses, before, after = student_run(student, "all", TOY_TEXTS, np.zeros(9, dtype=np.int64), num_classes=1,
                                           steps=3, lr=1e-2)
    values = check_losses(losses, 3, call + " on a 1-class model")
    check(np.all(values == 0), f"{call} on a 1-class model: every loss should be exactly 0; got {values.tolist()}")
    changed = moved(before, after)
    check(not changed, f"{call} on a 1-class model (every loss 0, every gradient 0) changed {describe(changed)}: "
                       f"AdamW must have weight_decay=0 (its default, 0.01, shrinks every weight)")
    # Zero steps: nothing happens, an empty list comes back, the model is in eval mode.
    model, losses, before, after = student_run(student, "all", TOY_TEXTS, TOY_LABELS, steps=0)
    check_losses(losses, 0, call_text("all", dict(steps=0)))
    check(not moved(before, after), 'finetune(model, support, "all", steps=0) changed the weights')
    check(not student.attr(model, "training"), "finetune(..., steps=0) should leave the model in eval mode")
    # One step, with dropout: the model trains in train mode (dropout on) and ends in eval mode.
    config = {"dropout": 0.3}
    kwargs = dict(steps=2, lr=1e-3, head_lr=1e-1, batch_size=9, seed=0)
    model = verified_tiny(student, 3, seed=1, **config)
    student.method(model, "eval")
    before = state(student, model)
    losses = student.call("finetune", model, (list(TOY_TEXTS), tensor(TOY_LABELS)), "all", **kwargs)
    check_losses(losses, 2, call_text("all", kwargs))
    _, no_dropout, _ = reference_run("all", TOY_TEXTS, TOY_LABELS, before, seed=1,
                                     steps=2, lr=1e-3, head_lr=1e-1, batch_size=9, run_seed=0)
    # The first loss comes from a zero head (log 3 with or without dropout); the second differs with dropout.
    check(abs(losses[1] - no_dropout[1]) > 1e-5,
          "with dropout in the encoder, finetune's second loss is exactly that of a run without dropout: call "
          "model.train() before training (the model it gets may be in eval mode)")
    check(not student.attr(model, "training"), "finetune should leave the model in eval mode (model.eval())")
    for name in ("encoder", "head", "encoder.embeddings.dropout", "encoder.encoder.layer.0.output.dropout"):
        module = student.method(model, "get_submodule", name, keep=True) if "." in name else \
            student.attr(model, name, keep=True)
        check(not student.attr(module, "training"),
              f"after finetune, model.{name} is still in training mode: call model.eval() on the whole model")


@graded(points=1, timeout=180)
def test_finetune_on_the_models_device(student):
    """finetune puts its labels on the model's device (the head on PyTorch's meta device, as on a GPU)"""
    # transformers' BERT cannot run on meta (its mask code reads values), so only the head goes there: the
    # logits and model.device are on meta, and labels left on the CPU meet them in the loss.
    model = student.call("metakit.grading.harness:move_submodule", tiny_model(student), "head", "meta", keep=True)
    verdict = verdict_on_meta(lambda: student.call("finetune", model, (list(TOY_TEXTS), tensor(TOY_LABELS)), "head",
                                                   steps=1, batch_size=4))
    check(verdict in ("ok", "inconclusive"),
          f'finetune(model, support, "head", steps=1) with the model\'s head on another device (PyTorch\'s '
          f"shapes-only 'meta' device, as a GPU would be): {verdict}. Put the labels on the model's device "
          f"(model.device)")


@graded(points=3, timeout=180)
def test_lora_finetuning_moves_only_adapters_and_head(student):
    """fine-tuning in "lora" mode changes lora_B and the head, leaves every pre-trained weight unchanged, and trains them as Part 3 says"""
    kwargs = dict(steps=5, lr=1e-2)
    _, losses, before, after = student_run(student, "lora", TOY8_TEXTS, TOY8_LABELS, lora=(2, 4.0), **kwargs)
    values = check_losses(losses, 5, call_text("lora", kwargs))
    changed = moved(before, after)
    pretrained = [n for n in changed if "lora_" not in n and not n.startswith("head.")]
    check(not pretrained, f'fine-tuning in "lora" mode changed pre-trained weights: {describe(pretrained)} '
                          f'(only the LoRA matrices and the head may move)')
    check(any("lora_B" in n for n in changed), 'fine-tuning in "lora" mode did not change any lora_B')
    check("head.weight" in changed, 'fine-tuning in "lora" mode did not change the head')
    _, ref_losses, expected = reference_run("lora", TOY8_TEXTS, TOY8_LABELS, before, lora=(2, 4.0), steps=5, lr=1e-2)
    check_same_run(call_text("lora", kwargs), values, after, ref_losses, expected)


@graded(points=2, timeout=180)
def test_head_finetuning_moves_only_the_head(student):
    """fine-tuning in "head" mode changes the head and nothing else, as Part 3's loop does"""
    _, losses, before, after = student_run(student, "head", TOY8_TEXTS, TOY8_LABELS, steps=3)
    values = check_losses(losses, 3, call_text("head", dict(steps=3)))
    changed = moved(before, after)
    check(set(changed) == {"head.weight", "head.bias"},
          f'fine-tuning in "head" mode should change exactly head.weight and head.bias; it changed '
          f'{describe(changed)}')
    # lr is unused in head mode; the head's learning rate is head_lr (default 1e-2).
    _, ref_losses, expected = reference_run("head", TOY8_TEXTS, TOY8_LABELS, before, steps=3, lr=1e-2)
    check_same_run(call_text("head", dict(steps=3)), values, after, ref_losses, expected)


@graded(points=2, timeout=180)
def test_finetuning_fits_the_support_set(student):
    """fine-tuning all parameters of a tiny BERT fits a 3-way support set (scored here, from the trained weights)"""
    kwargs = dict(steps=TINY_STEPS, lr=3e-3, head_lr=3e-2, batch_size=FIT_BATCH, seed=1)
    call = call_text("all", kwargs)
    _, losses, before, after = student_run(student, "all", TOY_TEXTS, TOY_LABELS, model_seed=3, **kwargs)
    check_losses(losses, TINY_STEPS, call)
    model = local_tiny(3, seed=3)
    load_state(model, after)
    logits = grader_logits(model, TOY_TEXTS)
    probabilities = softmax(logits)
    loss = float(-np.log(probabilities[np.arange(9), TOY_LABELS] + 1e-12).mean())
    accuracy = float((logits.argmax(1) == TOY_LABELS).mean())
    check(accuracy == 1.0 and loss < 0.5 * np.log(3),
          f"after {call} on 9 support sentences, the model (its trained weights, run here) should classify all of "
          f"them correctly with a loss under half of log 3; it gets {accuracy:.0%}, loss {loss:.3f}")
    _, ref_losses, expected = reference_run("all", TOY_TEXTS, TOY_LABELS, before, seed=3, steps=TINY_STEPS,
                                            lr=3e-3, head_lr=3e-2, batch_size=FIT_BATCH, run_seed=1)
    check_same_run(call, np.asarray(losses), after, ref_losses, expected)


def dropout_off_in_worker(student, model) -> int:
    """Set p = 0 on every nn.Dropout of a worker model (so that its run can be replayed here exactly)."""
    modules = student.call("builtins:list", student.method(model, "modules", keep=True))
    dropouts = [m for m in modules if getattr(m, "type", "") == "Dropout"]
    for module in dropouts:
        student.call("builtins:setattr", module, "p", 0.0)
    return len(dropouts)


def dropout_off(model) -> int:
    import torch

    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    for module in dropouts:
        module.p = 0.0
    return len(dropouts)


@graded(points=4, timeout=300, memory_mb=4096)
def test_real_model_lora_episode(student):
    """the real all-MiniLM-L6-v2 with LoRA learns a 5-way 4-shot meta-test episode as Part 3's loop does; its weights stay put"""
    from metakit.lm import sentence_classifier
    from metakit.textdata import TextEpisodeSampler, intent_splits

    _, meta_test = intent_splits()
    episode = TextEpisodeSampler(meta_test, REAL_WAYS, REAL_SHOTS, REAL_QUERIES, seed=7).episode(0)
    model = student.call("metakit.lm:sentence_classifier", REAL_WAYS, keep=True)
    watched = ["encoder.encoder.layer.0.attention.self.query.weight", "encoder.encoder.layer.5.attention.self.value.weight",
               "encoder.encoder.layer.3.output.dense.weight", "encoder.embeddings.LayerNorm.weight"]
    local = sentence_classifier(REAL_WAYS)  # the grader's one copy of the model (scoring, then the replay)
    head_start = {k: v.detach().clone() for k, v in local.head.state_dict().items()}
    for name in watched:
        check(np.array_equal(student.method(model, "get_parameter", name), local.get_parameter(name).detach().numpy()),
              f"the pre-trained model in your process differs from the kit's at {name}: does your code change "
              f"metakit's functions or the model files when it loads?")
    # Dropout off on both sides, so that the student's run can be replayed here step by step.
    check(dropout_off_in_worker(student, model) == dropout_off(local) > 0,
          "the pre-trained model in your process does not have the kit's dropout layers")
    names = student.call("inject_lora", student.attr(model, "encoder", keep=True), 4)
    expected_names = [f"encoder.layer.{i}.attention.self.{t}" for i in range(6) for t in ("query", "value")]
    check(isinstance(names, list) and [str(n) for n in names] == expected_names,
          f"inject_lora(model.encoder, 4) on the real model should wrap {describe(expected_names)}; it returned "
          f"{names!r}")
    adapters = [f"encoder.{n}.lora_{m}" for n in expected_names for m in "AB"]
    start = {name: np.asarray(student.method(model, "get_parameter", name), dtype=np.float32) for name in adapters}
    constants = student_constants(student)
    losses = student.call("finetune", model, (episode.support_texts, tensor(episode.support_labels.numpy())),
                          "lora", steps=REAL_STEPS)
    values = check_losses(losses, REAL_STEPS, call_text("lora", dict(steps=REAL_STEPS)))
    info = student.call("metakit.grading.harness:parameter_info", model)
    for name in watched:
        wrapped = name.replace(".weight", ".base.weight")
        now = wrapped if wrapped in info else name
        check(now in info, f"after inject_lora the pre-trained weight {name} is gone (neither {name} nor {wrapped})")
        check(np.array_equal(student.method(model, "get_parameter", now), local.get_parameter(name).detach().numpy()),
              f"{now} changed during LoRA fine-tuning: the pre-trained weights must stay frozen")
    trained = {}
    for name in adapters + ["head.weight", "head.bias"]:
        check(name in info, f"after inject_lora and finetune the model has no parameter {name}")
        trained[name] = np.asarray(student.method(model, "get_parameter", name), dtype=np.float64)
    # Score the adapters and the head the student's run produced with the model built here.
    grader_inject(local.encoder, {k.removeprefix("encoder."): v for k, v in trained.items() if "lora_" in k}, 2.0)
    load_state(local.head, {"weight": trained["head.weight"], "bias": trained["head.bias"]})
    logits = grader_logits(local, episode.query_texts)
    accuracy = float((logits.argmax(1) == episode.query_labels.numpy()).mean())
    check(accuracy >= REAL_MIN_ACCURACY,
          f"after {REAL_STEPS} LoRA fine-tuning steps (rank 4, your default learning rates) on a 5-way 4-shot "
          f"episode, the query accuracy (of your adapters and head, run here) is {accuracy:.0%}; the reference gets "
          f"well above {REAL_MIN_ACCURACY:.0%} (chance is 20%)")
    # Replay the run here, from the same adapters and head, with the documented loop and the
    # submission's defaults (one model in this process: MiniLM once, not twice).
    import torch

    with torch.no_grad():
        for name in adapters:
            local.get_parameter(name).copy_(torch.as_tensor(start[name]))
    local.head.load_state_dict(head_start)
    ref_losses = grader_finetune(local, episode.support_texts, episode.support_labels.numpy(), "lora", REAL_STEPS,
                                 float(constants["LEARNING_RATES"]["lora"]), float(constants["HEAD_LR"]),
                                 int(constants["BATCH_SIZE"]), 0)
    params = dict(local.named_parameters())
    expected = {name: params[name].detach().double().numpy() for name in trained}
    moved_by_reference = np.sqrt(sum(((expected[n] - start.get(n, 0.0)) ** 2).sum() for n in expected))
    gap = np.sqrt(sum(((trained[n] - expected[n]) ** 2).sum() for n in expected))
    check(gap <= REAL_RELATIVE_GAP * moved_by_reference,
          f"on the real model, the adapters and head after finetune(model, support, \"lora\", steps={REAL_STEPS}) are "
          f"not those of the loop Part 3 describes, replayed from the same start (difference {gap:.3g}, "
          f"{gap / moved_by_reference:.1%} of how far they moved)")
    check(np.allclose(values, ref_losses, atol=1e-3, rtol=1e-3),
          f"on the real model finetune returned the losses {np.round(values, 3).tolist()[:5]}...; the replayed loop "
          f"gives {np.round(ref_losses, 3).tolist()[:5]}...")
