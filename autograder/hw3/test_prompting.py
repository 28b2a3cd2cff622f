"""Hidden graders of hw3, parts 6 and 7: prompting a generative language model (build_prompt,
label_log_likelihoods) and LoRA fine-tuning of it (inject_lora on a Llama, finetune_causal_lm).

Every number a test scores is computed here, in the grading process, by the grader's own code: the
prompt string, and each label's log-likelihood by the plainest route (one full forward pass per
(prompt, label) sequence, no cache, no batching, float64 log-softmax). The worker's model is the
kit's tiny Llama (checked against the same model built here) or SmolLM2-135M-Instruct."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from conftest import GraderLoRA, compare_names, describe, grader_steps, trainable_names

from metakit.grading import Ref, StudentError, as_array, check, close, graded, tensor

PLAIN = {"instruction": "", "example": "Text: {text}\nIntent: {label}\n\n", "query": "Text: {text}\nIntent:"}
INSTRUCT = {"instruction": "Classify the intent of each text. The possible intents are: {labels}.\n\n",
            "example": "Text: {text}\nIntent: {label}\n\n", "query": "Text: {text}\nIntent:"}
# A template the notebook does not define: nothing about the format may be hard-coded.
ODD = {"instruction": "Pick one of [{labels}]\n", "example": "<{text}> -> {label};\n", "query": "<{text}> ->"}

TINY_ATOL = 1e-4   # label log-likelihoods on the tiny Llama (float32; the grader's sums in float64)
REAL_ATOL = 2e-3   # on SmolLM2-135M in float32: the KV cache and batched attention round differently
TINY_SEED = 3
ONE_TOKEN_LABELS = ["weather", "music"]   # " weather" and " music" are one SmolLM2 token each

# Labels of 2 to 11 tokens for the tiny Llama's byte tokenizer (a leading space is one token more).
LABELS = ["go", "weather", "set alarm", "x"]
PROMPTS = ["Text: will it rain?\nIntent:", "Classify.\n\nText: wake me at 7\nIntent:",
           "Text: a\nIntent: x\n\nText: b\nIntent: go\n\nText: play it again\nIntent:"]


# --------------------------------------------------------------------------- the grader's own references
def grader_prompt(texts, labels, query: str, names, template: dict) -> str:
    """The prompt exactly as the notebook specifies it."""
    out = template["instruction"].format(labels=", ".join(names))
    for text, label in zip(texts, labels):
        out += template["example"].format(text=text, label=names[int(label)])
    return out + template["query"].format(text=query)


def grader_label_scores(model, tokenizer, prompts, names):
    """log p(" " + name | prompt) as a float64 tensor [P, L] that gradients flow through: one
    unbatched, uncached forward pass per (prompt, label) sequence, here (call it on one thread)."""
    import torch

    rows = []
    for prompt in prompts:
        prompt_ids = list(tokenizer(prompt)["input_ids"])
        row = []
        for name in names:
            label_ids = list(tokenizer(" " + name, add_special_tokens=False)["input_ids"])
            logp = model(torch.tensor([prompt_ids + label_ids])).logits[0].double().log_softmax(-1)
            row.append(sum(logp[len(prompt_ids) + t - 1, token] for t, token in enumerate(label_ids)))
        rows.append(torch.stack(row))
    return torch.stack(rows)


def grader_scores(model, tokenizer, prompts, names) -> np.ndarray:
    """log p(" " + name | prompt) [P, L] as numbers (grader_label_scores without gradients), here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return grader_label_scores(model, tokenizer, prompts, names).numpy()
    finally:
        torch.set_num_threads(threads)


def grader_finetune_causal_lm(model, tokenizer, support, names, template: dict, steps: int, lr: float,
                              batch_size: int, seed: int, trained: list[str] | None = None) -> list[float]:
    """The loop of the notebook's Part 7, written by the grader, run here on one thread: AdamW
    (weight_decay 0) on the parameters named ``trained`` only (None: the lora_ parameters), minibatches
    torch.randperm(S, generator=g)[:batch_size], the cross-entropy of the zero-shot label scores."""
    import torch
    import torch.nn.functional as F

    from metakit.grading.harness import parameters_named

    texts, labels = list(support[0]), torch.as_tensor(np.asarray(support[1]), dtype=torch.long)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        adapters = ([p for n, p in model.named_parameters() if "lora_" in n] if trained is None
                    else parameters_named(model, trained))
        for p in model.parameters():
            p.requires_grad_(any(p is a for a in adapters))
        optimizer = torch.optim.AdamW(adapters, lr=lr, weight_decay=0.0, foreach=False)

        def loss_of(batch: list[int]):
            prompts = [grader_prompt([], [], texts[i], names, template) for i in batch]
            return F.cross_entropy(grader_label_scores(model, tokenizer, prompts, names), labels[batch])

        return grader_steps(model, optimizer, steps, len(texts), batch_size, seed, loss_of)
    finally:
        torch.set_num_threads(threads)


@lru_cache(maxsize=2)
def local_tiny_llama(seed: int = TINY_SEED):
    from metakit.causal_lm import tiny_llama

    return tiny_llama(seed=seed)


def tiny_in_worker(student, seed: int = TINY_SEED) -> tuple[Ref, Ref]:
    """The kit's tiny Llama and its tokenizer, built in the worker and checked against the same model here."""
    pair = student.call("metakit.causal_lm:tiny_llama", seed=seed, keep=True)
    model = student.call("operator:getitem", pair, 0, keep=True)
    tokenizer = student.call("operator:getitem", pair, 1, keep=True)
    got = student.call("metakit.grading.harness:state_arrays", model)
    expected = {k: v.detach().numpy() for k, v in local_tiny_llama(seed)[0].state_dict().items()}
    same = set(got) == set(expected) and all(np.array_equal(np.asarray(got[k]), expected[k]) for k in expected)
    check(same, "the tiny Llama built with metakit.causal_lm.tiny_llama is not the kit's model in your process: "
                "does your code change metakit's functions or torch's modules when it loads?")
    return model, tokenizer


def student_scores(student, model: Ref, tokenizer: Ref, prompts, names) -> np.ndarray:
    got = student.call("label_log_likelihoods", model, tokenizer, list(prompts), list(names))
    return as_array(got, "label_log_likelihoods(...)", shape=(len(prompts), len(names)))


def episode_texts(seed: int, ways: int, shots: int):
    """A seeded meta-test episode of the kit's intents, the support shuffled (seeded), names with spaces."""
    from metakit.textdata import TextEpisodeSampler, load_intents

    episode = TextEpisodeSampler(load_intents().split("test"), ways, max(shots, 1), 1, seed=seed).episode(0)
    order = np.random.default_rng(seed).permutation(len(episode.support_texts)) if shots else []
    texts = [episode.support_texts[i] for i in order]
    labels = [int(episode.support_labels[i]) for i in order]
    names = [n.replace("_", " ") for n in episode.class_names]
    return texts, labels, episode.query_texts, names


# --------------------------------------------------------------------------- build_prompt
@graded(points=3, timeout=60)
def test_build_prompt_exact(student):
    """build_prompt writes exactly the documented prompt (both templates, k = 0, 1, 3, the support's order, labels as a tensor or a list)"""
    cases = [(seed, ways, shots, template, name) for seed, ways, shots in ((11, 3, 1), (12, 4, 3), (13, 5, 0))
             for name, template in (("PLAIN_TEMPLATE", PLAIN), ("INSTRUCT_TEMPLATE", INSTRUCT), ("another template", ODD))]
    for seed, ways, shots, template, name in cases:
        texts, labels, queries, names = episode_texts(seed, ways, shots)
        expected = grader_prompt(texts, labels, queries[0], names, template)
        # The labels as the int64 tensor an episode holds (PLAIN_TEMPLATE) or as a list of ints (the others).
        given = tensor(np.asarray(labels, dtype=np.int64)) if name == "PLAIN_TEMPLATE" else labels
        got = student.call("build_prompt", (texts, given), queries[0], names, template)
        check(isinstance(got, str), f"build_prompt should return a str; it returned {type(got).__name__}")
        if got != expected:
            at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
            check(False, f"build_prompt with {name}, {ways} ways, {shots}-shot ({len(texts)} support examples in the "
                         f"order given): the prompts differ from character {at} on: expected "
                         f"{expected[max(0, at - 30): at + 50]!r}, got {got[max(0, at - 30): at + 50]!r} "
                         f"(expected {len(expected)} characters, got {len(got)})")


# --------------------------------------------------------------------------- label_log_likelihoods
@graded(points=3, timeout=120)
def test_label_log_likelihoods_tiny(student):
    """label_log_likelihoods on the tiny Llama equals the grader's own computation (multi-token labels, sums)"""
    model, tokenizer = tiny_in_worker(student)
    expected = grader_scores(*local_tiny_llama(), PROMPTS, LABELS)
    close(student_scores(student, model, tokenizer, PROMPTS, LABELS), expected, atol=TINY_ATOL, rtol=0,
          what=f"label_log_likelihoods(tiny Llama, its tokenizer, {len(PROMPTS)} prompts, {LABELS}) (the sum of "
               f"the log-probabilities of each label's tokens, the label tokenised with a leading space)")


@graded(points=2, timeout=120)
def test_label_log_likelihoods_batching(student):
    """how prompts are batched changes nothing: one at a time, all at once, shared prefixes or none"""
    model, tokenizer = tiny_in_worker(student)
    texts, labels, queries, names = episode_texts(21, 3, 2)
    prompts = [grader_prompt(texts, labels, q, names, INSTRUCT) for q in queries] + PROMPTS[:1]
    expected = grader_scores(*local_tiny_llama(), prompts, names)
    together = student_scores(student, model, tokenizer, prompts, names)
    close(together, expected, atol=TINY_ATOL, rtol=0,
          what=f"label_log_likelihoods: {len(prompts)} prompts of different lengths scored in one call, against the "
               f"grader's own computation")
    for i in (0, len(prompts) - 1):
        alone = student_scores(student, model, tokenizer, prompts[i:i + 1], names)
        close(alone[0], together[i], atol=TINY_ATOL, rtol=0,
              what=f"label_log_likelihoods: prompt {i} scored alone against the same prompt scored with "
                   f"{len(prompts) - 1} others")
    same_start = [grader_prompt(texts, labels, q, names, INSTRUCT) for q in queries[:2]]
    close(student_scores(student, model, tokenizer, same_start, names[:1]),
          grader_scores(*local_tiny_llama(), same_start, names[:1]), atol=TINY_ATOL, rtol=0,
          what="label_log_likelihoods: two prompts sharing the whole support (a long shared prefix) and one label")
    # The empty prompt is one token (<s>) and shares nothing with another prompt past it.
    nothing_shared = ["", PROMPTS[0]]
    close(student_scores(student, model, tokenizer, nothing_shared, LABELS),
          grader_scores(*local_tiny_llama(), nothing_shared, LABELS), atol=TINY_ATOL, rtol=0,
          what=f"label_log_likelihoods: the prompts {nothing_shared!r} (a one-token prompt, <s>, beside a longer "
               f"one) and {LABELS}")


@graded(points=1, timeout=120)
def test_label_log_likelihoods_stays_on_the_models_device(student):
    """label_log_likelihoods makes its tensors on the model's device and returns its scores there (a GPU run needs it)"""
    from metakit.grading.harness import devices_verdict

    pair = student.call("metakit.causal_lm:tiny_llama", seed=TINY_SEED, device="meta", keep=True)
    model = student.call("operator:getitem", pair, 0, keep=True)
    tokenizer = student.call("operator:getitem", pair, 1, keep=True)
    # on meta, token ids made on the CPU would go through the embedding without a word; a GPU refuses them
    student.call("metakit.grading.harness:require_inputs_on_device", model)
    for prompts in (PROMPTS, ["", PROMPTS[0]]):
        devices = student.call("metakit.grading.harness:output_devices", student.ref("label_log_likelihoods"),
                               model, tokenizer, prompts, LABELS)
        verdict = devices_verdict([str(d) for d in devices] if isinstance(devices, list) else [str(devices)])
        check(verdict in ("ok", "inconclusive"),
              f"label_log_likelihoods with the tiny Llama on another device (PyTorch's 'meta' device, as a GPU "
              f"would be) and the prompts {prompts!r}: {verdict}. Make every tensor you create (the token ids you "
              f"give the model too) on the model's device (device = next(model.parameters()).device; "
              f"torch.tensor(..., device=device)), so the scores stay there")


@graded(points=2, timeout=180, memory_mb=3072)   # the worker reads the [shared] float weights (assignment.toml)
def test_label_log_likelihoods_real_model(student):
    """on SmolLM2-135M-Instruct, one small episode: the same label log-likelihoods as the grader's"""
    import gc

    from metakit.causal_lm import load_causal_lm

    texts, labels, queries, names = episode_texts(31, 3, 1)
    prompts = [grader_prompt(texts, labels, q, names, INSTRUCT) for q in queries[:2]]
    model, tokenizer = load_causal_lm(device="cpu")      # here first, then freed: one copy in memory at a time
    one_token = [n for n in ONE_TOKEN_LABELS if len(tokenizer(" " + n, add_special_tokens=False)["input_ids"]) == 1]
    check(len(one_token) == len(ONE_TOKEN_LABELS), f"grader: {ONE_TOKEN_LABELS} are not one SmolLM2 token each")
    expected = grader_scores(model, tokenizer, prompts, names)
    expected_one = grader_scores(model, tokenizer, prompts[:1], one_token)
    del model, tokenizer
    gc.collect()
    pair = student.call("metakit.causal_lm:load_causal_lm", device="cpu", keep=True)
    model, tokenizer = student.call("operator:getitem", pair, 0, keep=True), student.call("operator:getitem", pair, 1, keep=True)
    close(student_scores(student, model, tokenizer, prompts, names), expected, atol=REAL_ATOL, rtol=0,
          what=f"label_log_likelihoods on SmolLM2-135M-Instruct (float32) for {len(prompts)} 3-way 1-shot prompts "
               f"and the labels {names}")
    close(student_scores(student, model, tokenizer, prompts[:1], one_token), expected_one, atol=REAL_ATOL, rtol=0,
          what=f"label_log_likelihoods on SmolLM2-135M-Instruct for one prompt and the labels {one_token}, each "
               f"one token")


# --------------------------------------------------------------------------- LoRA on a Llama
@graded(points=2, timeout=120)
def test_lora_on_llama(student):
    """inject_lora wraps a Llama's q_proj and v_proj (no bias), freezes their base and starts at the same logits"""
    import torch

    model, tokenizer = tiny_in_worker(student)
    names = student.call("inject_lora", model, 2, ["q_proj", "v_proj"], 4.0)
    expected = [f"model.layers.{i}.self_attn.{p}" for i in range(2) for p in ("q_proj", "v_proj")]
    check(isinstance(names, list) and [str(n) for n in names] == expected,
          f'inject_lora(tiny Llama, 2, ["q_proj", "v_proj"], 4.0) should return {expected}; it returned {names!r}')
    info = student.call("metakit.grading.harness:parameter_info", model)
    lora = [n for n in info if "lora_" in n]
    compare_names(lora, [f"{n}.lora_{m}" for n in expected for m in "AB"], "the LoRA parameters of the Llama")
    for name in expected:
        check(f"{name}.base.weight" in info and not info[f"{name}.base.weight"]["requires_grad"],
              f"{name}.base.weight should exist and be frozen (requires_grad=False)")
    state = student.call("metakit.grading.harness:state_arrays", model)
    check(all(np.all(np.asarray(state[f"{n}.lora_B"]) == 0) for n in expected), "every lora_B must start at zero")
    ids = [list(local_tiny_llama()[1]("Text: hello\nIntent:")["input_ids"])]
    with torch.no_grad():
        expected_logits = local_tiny_llama()[0](torch.tensor(ids)).logits.double().numpy()
    logits = student.call("builtins:getattr", student.method(model, "forward", torch_ids(ids), keep=True), "logits")
    close(logits, expected_logits, atol=1e-5, rtol=0, what="the logits of the tiny Llama right after inject_lora "
                                                           "(B = 0: the same function as before)")


def torch_ids(ids):
    """Token ids as an int64 tensor argument for the worker."""
    return tensor(np.asarray(ids, dtype=np.int64))


# --------------------------------------------------------------------------- finetune_causal_lm
# An easy 3-way episode for the tiny Llama: each intent has its own keyword, the labels are one word each.
EASY_NAMES = ["cat", "dog", "owl"]
EASY_SUPPORT = (["the meow sound", "meow meow now", "a soft meow", "meow again",
                 "the woof sound", "woof woof now", "a loud woof", "woof again",
                 "the hoot sound", "hoot hoot now", "a deep hoot", "hoot again"],
                [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
EASY_QUERIES = (["meow meow", "a meow sound", "woof woof", "a woof sound", "hoot hoot", "a hoot sound"], [0, 0, 1, 1, 2, 2])
RANK, ALPHA = 4, 8.0


def trained_in_worker(student, steps: int, seed: int = 0) -> tuple[Ref, list]:
    model, tokenizer = tiny_in_worker(student)
    student.call("inject_lora", model, RANK, ["q_proj", "v_proj"], ALPHA)
    losses = student.call("finetune_causal_lm", model, tokenizer, EASY_SUPPORT, EASY_NAMES, PLAIN, steps=steps,
                          lr=1e-2, batch_size=6, seed=seed)
    return model, losses


def grader_model_with(state: dict):
    """The tiny Llama built here with the worker's trained adapters in the grader's own LoRA layers."""
    import copy

    from conftest import grader_inject

    model = copy.deepcopy(local_tiny_llama()[0])
    lora = {k: np.asarray(v) for k, v in state.items() if "lora_" in k}
    check(lora, "after finetune_causal_lm the model has no LoRA parameters")
    grader_inject(model, lora, ALPHA / RANK)
    return model.eval()


@graded(points=2, timeout=180)
def test_finetune_causal_lm_trains_only_adapters(student):
    """finetune_causal_lm moves the adapters and nothing else, returns the step losses, leaves eval mode"""
    model, losses = trained_in_worker(student, steps=4)
    check(isinstance(losses, list) and len(losses) == 4 and all(isinstance(x, float) for x in losses),
          f"finetune_causal_lm(..., steps=4) should return 4 losses as Python floats; it returned {losses!r}")
    state = student.call("metakit.grading.harness:state_arrays", model)
    original = {k: v.detach().numpy() for k, v in local_tiny_llama()[0].state_dict().items()}
    moved = []
    for name, value in original.items():
        got_name = name.replace("q_proj.weight", "q_proj.base.weight").replace("v_proj.weight", "v_proj.base.weight")
        check(got_name in state, f"{got_name} is missing from the model after finetune_causal_lm")
        if not np.array_equal(np.asarray(state[got_name]), value):
            moved.append(got_name)
    check(not moved, f"finetune_causal_lm must train only the LoRA parameters; these moved: {describe(moved)}")
    check(any(np.abs(np.asarray(v)).max() > 0 for k, v in state.items() if k.endswith("lora_B")),
          "after 4 steps every lora_B is still zero: the adapters were not trained")
    check(not student.attr(model, "training"), "leave the model in eval mode after finetune_causal_lm")
    trainable = [n for n in trainable_names(student, model) if "lora_" not in n]
    check(not trainable, f"after finetune_causal_lm only LoRA parameters should have requires_grad=True; also "
                         f"trainable: {describe(trainable)}")


@graded(points=3, timeout=240)
def test_finetune_causal_lm_beats_prompting(student):
    """on an easy episode, LoRA fine-tuning of the tiny Llama beats (or matches) prompting it, by the grader's scoring"""
    texts, labels = EASY_SUPPORT
    queries, truth = EASY_QUERIES
    model, tokenizer = local_tiny_llama()
    prompted = grader_scores(model, tokenizer, [grader_prompt(texts, labels, q, EASY_NAMES, PLAIN) for q in queries],
                             EASY_NAMES).argmax(-1)
    trained, losses = trained_in_worker(student, steps=FT_STEPS)
    tuned = grader_model_with(student.call("metakit.grading.harness:state_arrays", trained))
    zero_shot = [grader_prompt([], [], q, EASY_NAMES, PLAIN) for q in queries]
    predicted = grader_scores(tuned, tokenizer, zero_shot, EASY_NAMES).argmax(-1)
    accuracy, baseline = float(np.mean(predicted == truth)), float(np.mean(prompted == truth))
    check(accuracy >= max(baseline, FT_MIN_ACCURACY),
          f"after finetune_causal_lm ({FT_STEPS} steps, lr 1e-2, rank {RANK}) the zero-shot query accuracy is "
          f"{accuracy:.2f} by the grader's scoring of your adapters; prompting the untouched model scores "
          f"{baseline:.2f}, and at least {FT_MIN_ACCURACY:.2f} is expected (losses: "
          f"{', '.join(f'{x:.3f}' for x in losses[:3])} ... {losses[-1]:.3f})")


FT_STEPS = 30
FT_MIN_ACCURACY = 0.8


# --------------------------------------------------------------------------- finetune_causal_lm, replayed here
# Every run below is repeated here by the grader's own copy of Part 7's loop (grader_finetune_causal_lm) from
# the adapters the student's inject_lora made: the trained adapters must be the ones that loop reaches.
LM_DEFAULTS = {"LM_FINETUNE_STEPS": 20, "LM_LR": 3e-3, "LM_BATCH_SIZE": 8}   # the notebook's constants
# Rounding: about 1e-7 after 30 steps (the KV cache and batching against the grader's unbatched float64
# scores). AdamW's default weight decay (0.01) at lr 1e-2 moves an entry of lora_A (up to 0.18) by 1.8e-5 a step.
LM_WEIGHT_ATOL = 2e-5
# (template name, template, labels as an int64 tensor?, keyword arguments of finetune_causal_lm)
LM_SWEEP = [
    ("PLAIN_TEMPLATE", PLAIN, True, dict(steps=3, lr=1e-2, batch_size=5, seed=3)),
    ("another template", ODD, False, dict(steps=2, lr=2e-2, batch_size=50, seed=1)),  # batch larger than the support
]


def lm_call(template_name: str | None, kwargs: dict) -> str:
    args = (f", {template_name}" if template_name else "") + "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"finetune_causal_lm(model, tokenizer, support, label_names{args})"


def lora_arrays(student, model: Ref) -> dict:
    state = student.call("metakit.grading.harness:state_arrays", model)
    return {k: np.asarray(v, dtype=np.float64) for k, v in state.items() if "lora_" in k}


def student_lm_run(student, template: dict | None, as_tensor: bool = False, prepare=None, **kwargs):
    """The student's finetune_causal_lm on the verified tiny Llama with the student's adapters (rank 4,
    alpha 8 on q_proj and v_proj); ``(model ref, losses, adapters before, adapters after)``."""
    model, tokenizer = tiny_in_worker(student)
    student.call("inject_lora", model, RANK, ["q_proj", "v_proj"], ALPHA)
    if prepare is not None:
        prepare(model)
    before = lora_arrays(student, model)
    check(before, "after inject_lora the tiny Llama has no lora_A / lora_B parameters")
    texts, labels = EASY_SUPPORT
    support = (list(texts), tensor(np.asarray(labels, dtype=np.int64)) if as_tensor else list(labels))
    args = (model, tokenizer, support, EASY_NAMES) + ((template,) if template is not None else ())
    losses = student.call("finetune_causal_lm", *args, **kwargs)
    return model, losses, before, lora_arrays(student, model)


def replay(before: dict, template: dict, steps: int, lr: float, batch_size: int, seed: int):
    """Part 7's loop run here from the same adapters; ``(losses, adapters after)``."""
    import copy

    from conftest import grader_inject

    model = copy.deepcopy(local_tiny_llama()[0])
    grader_inject(model, {k: v.astype(np.float32) for k, v in before.items()}, ALPHA / RANK)
    losses = grader_finetune_causal_lm(model, local_tiny_llama()[1], EASY_SUPPORT, EASY_NAMES, template, steps, lr,
                                       batch_size, seed)
    return np.asarray(losses), {k: v.detach().double().numpy() for k, v in model.state_dict().items() if "lora_" in k}


def lm_losses(losses, steps: int, call: str) -> np.ndarray:
    check(isinstance(losses, list) and len(losses) == steps and all(isinstance(x, float) for x in losses),
          f"{call} should return {steps} losses as Python floats (loss.item()); it returned {losses!r}"[:600])
    values = np.asarray(losses, dtype=np.float64)
    check(np.isfinite(values).all(), f"{call} returned a non-finite loss: {values.tolist()}")
    return values


def check_same_lm_run(call: str, losses: np.ndarray, got: dict, ref_losses: np.ndarray, expected: dict) -> None:
    missing = [k for k in expected if k not in got]
    check(not missing, f"after {call} the model lacks {describe(missing)}")
    gap, where = max((float(np.abs(got[k] - v).max()), k) for k, v in expected.items())
    check(gap <= LM_WEIGHT_ATOL,
          f"after {call} the adapters are not those of the loop Part 7 describes, run here from the same start "
          f"(largest difference {gap:.3g}, in {where}). Check: one torch.optim.AdamW(adapters, lr=lr, "
          f"weight_decay=0.0) over the lora_ parameters; each step the minibatch torch.randperm(S, generator=g)"
          f"[:batch_size] with g = torch.Generator().manual_seed(seed) made once; the zero-shot prompts "
          f"build_prompt(([], []), text, label_names, template); the cross-entropy of their "
          f"label_log_likelihoods against the labels; zero_grad, backward and one step per loss")
    check(np.allclose(losses, ref_losses, atol=1e-4, rtol=1e-4),
          f"{call} returned the losses {np.round(losses, 4).tolist()[:6]}; the loop Part 7 describes gives "
          f"{np.round(ref_losses, 4).tolist()[:6]} (each step's minibatch loss, before its update)")


@graded(points=3, timeout=240)
def test_finetune_causal_lm_follows_the_documented_loop(student):
    """finetune_causal_lm's adapters and losses are those of Part 7's loop, for every template, seed, lr and batch_size"""
    for template_name, template, as_tensor, kwargs in LM_SWEEP:
        call = lm_call(template_name, kwargs)
        _, losses, before, after = student_lm_run(student, template, as_tensor, **kwargs)
        values = lm_losses(losses, kwargs["steps"], call)
        check_same_lm_run(call, values, after, *replay(before, template, **kwargs))
    # One step: lora_B starts at zero, so every lora_A has a gradient of exactly zero and AdamW (weight_decay=0)
    # leaves it exactly as it was; every lora_B entry moves by lr * g / (|g| + eps), about lr.
    kwargs = dict(steps=1, lr=1e-2, batch_size=4, seed=2)
    call = lm_call("INSTRUCT_TEMPLATE", kwargs)
    _, losses, before, after = student_lm_run(student, INSTRUCT, **kwargs)
    values = lm_losses(losses, 1, call)
    changed = [k for k in before if k.endswith("lora_A") and not np.array_equal(before[k], after.get(k))]
    check(not changed, f"{call} changed {describe(changed)}: at the first step lora_B is zero, so the gradient of "
                       f"every lora_A is exactly zero, and AdamW with weight_decay=0.0 must leave it unchanged")
    check_same_lm_run(call, values, after, *replay(before, INSTRUCT, **kwargs))


def student_lm_constants(student) -> dict:
    """The submission's LM_FINETUNE_STEPS, LM_LR and LM_BATCH_SIZE (the documented values where absent)."""
    found = dict(LM_DEFAULTS)
    for name in LM_DEFAULTS:
        if student.has(name):
            value = student.method(student.ref(name), "__float__")
            check(isinstance(value, float), f"{name} should be a number")
            found[name] = value
    return found


@graded(points=2, timeout=240)
def test_finetune_causal_lm_defaults_and_modes(student):
    """finetune_causal_lm's defaults (INSTRUCT_TEMPLATE, LM_FINETUNE_STEPS, LM_LR, LM_BATCH_SIZE, seed 0), 0 steps, train mode while training, the model's device"""
    constants = student_lm_constants(student)
    steps, lr, batch_size = (int(constants["LM_FINETUNE_STEPS"]), float(constants["LM_LR"]),
                             int(constants["LM_BATCH_SIZE"]))
    call = lm_call(None, {}) + " (every other argument at its default)"
    _, losses, before, after = student_lm_run(student, None)
    check_same_lm_run(call, lm_losses(losses, steps, call), after,
                      *replay(before, INSTRUCT, steps=steps, lr=lr, batch_size=batch_size, seed=0))
    # Zero steps: an empty list, nothing moves, eval mode.
    call = lm_call("PLAIN_TEMPLATE", dict(steps=0))
    model, losses, before, after = student_lm_run(student, PLAIN, steps=0)
    lm_losses(losses, 0, call)
    check(all(np.array_equal(before[k], after.get(k)) for k in before), f"{call} changed the adapters")
    check(not student.attr(model, "training"), f"{call} should leave the model in eval mode")
    # Attention dropout on (the kit's Llama has none): in train mode the losses differ from a run without it.
    layers = int(local_tiny_llama()[0].config.num_hidden_layers)

    def dropout_on(model: Ref) -> None:
        student.method(model, "eval")
        for i in range(layers):
            attention = student.method(model, "get_submodule", f"model.layers.{i}.self_attn", keep=True)
            student.call("builtins:setattr", attention, "attention_dropout", 0.5)

    kwargs = dict(steps=2, lr=1e-2, batch_size=6, seed=0)
    call = lm_call("PLAIN_TEMPLATE", kwargs)
    model, losses, before, _ = student_lm_run(student, PLAIN, prepare=dropout_on, **kwargs)
    values = lm_losses(losses, 2, call + " with attention dropout 0.5")
    no_dropout, _ = replay(before, PLAIN, **kwargs)
    check(not np.allclose(values, no_dropout, atol=1e-4, rtol=0),
          f"{call}, on a Llama given in eval mode with attention dropout 0.5, returned the losses of a run without "
          f"dropout: call model.train() before training")
    check(not student.attr(model, "training"), f"{call} should leave the model in eval mode (model.eval())")
    attention = student.method(model, "get_submodule", "model.layers.0.self_attn", keep=True)
    check(not student.attr(attention, "training"),
          "after finetune_causal_lm, model.model.layers[0].self_attn is still in training mode: call model.eval() "
          "on the whole model")
    check_lm_device(student)


# Part 7's other modes on the tiny Llama (no adapters): the given parameters and nothing else are trained.
GIVEN_PARAMETERS = [  # (as messages show them, prefixes of their names, keyword arguments)
    ("the last block and the final norm", ("model.layers.1.", "model.norm."), dict(steps=2, lr=1e-2, batch_size=5, seed=1)),
    ("[model.lm_head.weight] (tied to model.embed_tokens.weight)", ("lm_head.weight",),
     dict(steps=2, lr=1e-2, batch_size=6, seed=0)),
]


def named_like(model, prefixes: tuple[str, ...]) -> list[str]:
    """The names of ``model``'s parameters that start with one of ``prefixes`` (tied names included)."""
    return [n for n, _ in model.named_parameters(remove_duplicate=False) if n.startswith(prefixes)]


def same_tensor_names(model, names: list[str]) -> set[str]:
    """Every state_dict name of the parameters called ``names`` (a tied parameter has two)."""
    from metakit.grading.harness import parameters_named

    chosen = {id(p) for p in parameters_named(model, names)}
    tensors = dict(model.named_parameters(remove_duplicate=False))
    return {n for n, p in tensors.items() if id(p) in chosen}


def weights_of(state: dict, names) -> dict:
    return {n: np.asarray(state[n], dtype=np.float64) for n in names if n in state}


@graded(points=2, timeout=240)
def test_finetune_causal_lm_trains_the_given_parameters(student):
    """finetune_causal_lm(..., parameters=[...]) trains exactly those (Part 7's head-only and last-block modes), as Part 7's loop does; ValueError when there is nothing to train"""
    import copy

    model, tokenizer = local_tiny_llama()
    original = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    for what, prefixes, kwargs in GIVEN_PARAMETERS:
        names = named_like(model, prefixes)
        call = lm_call("PLAIN_TEMPLATE", kwargs)[:-1] + f", parameters={what})"
        worker_model, worker_tokenizer = tiny_in_worker(student)
        chosen = student.call("metakit.grading.harness:parameters_named", worker_model, names, keep=True)
        losses = student.call("finetune_causal_lm", worker_model, worker_tokenizer, EASY_SUPPORT, EASY_NAMES, PLAIN,
                              parameters=chosen, **kwargs)
        values = lm_losses(losses, kwargs["steps"], call)
        state = student.call("metakit.grading.harness:state_arrays", worker_model)
        trained = same_tensor_names(model, names)
        moved = sorted(n for n, v in original.items() if n not in trained and not np.array_equal(state.get(n), v))
        check(not moved, f"{call} must train only the given parameters; these moved too: {describe(moved)}")
        expected_trainable = {n for n, _ in model.named_parameters() if n in trained}
        got_trainable = set(trainable_names(student, worker_model))
        check(got_trainable == expected_trainable,
              f"after {call} exactly the given parameters should have requires_grad=True; trainable: "
              f"{describe(sorted(got_trainable))}")
        replayed = copy.deepcopy(model)
        ref_losses = grader_finetune_causal_lm(replayed, tokenizer, EASY_SUPPORT, EASY_NAMES, PLAIN, trained=names,
                                               **kwargs)
        expected = weights_of({k: v.detach().numpy() for k, v in replayed.state_dict().items()}, trained)
        got = weights_of(state, trained)
        check(set(got) == set(expected), f"after {call} the model lacks {describe(sorted(set(expected) - set(got)))}")
        gap, where = max((float(np.abs(got[k] - v).max()), k) for k, v in expected.items())
        check(gap <= LM_WEIGHT_ATOL,
              f"after {call} the weights are not those of the loop Part 7 describes over the given parameters, run "
              f"here from the same start (largest difference {gap:.3g}, in {where}): one torch.optim.AdamW(parameters, "
              f"lr=lr, weight_decay=0.0) over exactly the parameters given")
        check(np.allclose(values, ref_losses, atol=1e-4, rtol=1e-4),
              f"{call} returned the losses {np.round(values, 4).tolist()}; the loop Part 7 describes gives "
              f"{np.round(ref_losses, 4).tolist()}")
    worker_model, worker_tokenizer = tiny_in_worker(student)
    for what, extra in (("on a model without LoRA parameters (parameters=None)", {}),
                        ("with parameters=[]", {"parameters": []})):
        try:
            student.call("finetune_causal_lm", worker_model, worker_tokenizer, EASY_SUPPORT, EASY_NAMES, PLAIN,
                         steps=1, **extra)
        except StudentError as exc:
            check("raised ValueError" in str(exc),
                  f"finetune_causal_lm {what} has nothing to train and should raise a ValueError; {exc}"[:600])
        else:
            check(False, f"finetune_causal_lm {what} has nothing to train and should raise a ValueError; it returned")


def check_lm_device(student) -> None:
    """finetune_causal_lm on a tiny Llama on PyTorch's 'meta' device (shapes, no values): its .item() cannot
    run there, but a tensor it made on the CPU for a model elsewhere shows as a device-mismatch error first."""
    from metakit.grading.harness import devices_verdict

    pair = student.call("metakit.causal_lm:tiny_llama", seed=TINY_SEED, device="meta", keep=True)
    model = student.call("operator:getitem", pair, 0, keep=True)
    tokenizer = student.call("operator:getitem", pair, 1, keep=True)
    student.call("inject_lora", model, RANK, ["q_proj", "v_proj"], ALPHA)
    devices = student.call("metakit.grading.harness:output_devices", student.ref("finetune_causal_lm"), model,
                           tokenizer, EASY_SUPPORT, EASY_NAMES, PLAIN, steps=1, lr=1e-2, batch_size=4)
    verdict = devices_verdict([str(d) for d in devices] if isinstance(devices, list) else [str(devices)])
    check(not verdict.startswith("it raised"),
          f"finetune_causal_lm with the tiny Llama on another device (PyTorch's 'meta' device, as a GPU would be): "
          f"{verdict}. Make every tensor on the model's device: the labels (labels[batch].to(scores.device)) and "
          f"LoRALinear's adapters (on base.weight's device)")
