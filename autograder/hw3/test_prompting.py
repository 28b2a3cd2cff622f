"""Hidden graders of hw3, parts 6 and 7: prompting a generative language model (build_prompt,
label_log_likelihoods) and LoRA fine-tuning of it (inject_lora on a Llama, finetune_causal_lm).

Every number a test scores is computed here, in the grading process, by the grader's own code: the
prompt string, and each label's log-likelihood by the plainest route (one full forward pass per
(prompt, label) sequence, no cache, no batching, float64 log-softmax). The worker's model is the
kit's tiny Llama (checked against the same model built here) or SmolLM2-135M-Instruct."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from conftest import GraderLoRA, compare_names, describe, trainable_names

from metakit.grading import Ref, StudentError, as_array, check, close, graded

PLAIN = {"instruction": "", "example": "Text: {text}\nIntent: {label}\n\n", "query": "Text: {text}\nIntent:"}
INSTRUCT = {"instruction": "Classify the intent of each text. The possible intents are: {labels}.\n\n",
            "example": "Text: {text}\nIntent: {label}\n\n", "query": "Text: {text}\nIntent:"}
# A template the notebook does not define: nothing about the format may be hard-coded.
ODD = {"instruction": "Pick one of [{labels}]\n", "example": "<{text}> -> {label};\n", "query": "<{text}> ->"}

TINY_ATOL = 1e-4   # label log-likelihoods on the tiny Llama (float32; the grader's sums in float64)
REAL_ATOL = 2e-3   # on SmolLM2-135M in float32: the KV cache and batched attention round differently
TINY_SEED = 3

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


def grader_scores(model, tokenizer, prompts, names) -> np.ndarray:
    """log p(" " + name | prompt) [P, L], one unbatched, uncached forward pass per sequence, here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = np.zeros((len(prompts), len(names)))
        for i, prompt in enumerate(prompts):
            prompt_ids = list(tokenizer(prompt)["input_ids"])
            for j, name in enumerate(names):
                label_ids = list(tokenizer(" " + name, add_special_tokens=False)["input_ids"])
                ids = torch.tensor([prompt_ids + label_ids])
                with torch.no_grad():
                    logp = model(ids).logits[0].double().log_softmax(-1)
                out[i, j] = sum(float(logp[len(prompt_ids) + t - 1, token]) for t, token in enumerate(label_ids))
        return out
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
    """build_prompt writes exactly the documented prompt (both templates, k = 0, 1, 3, the support's order)"""
    cases = [(seed, ways, shots, template, name) for seed, ways, shots in ((11, 3, 1), (12, 4, 3), (13, 5, 0))
             for name, template in (("PLAIN_TEMPLATE", PLAIN), ("INSTRUCT_TEMPLATE", INSTRUCT), ("another template", ODD))]
    for seed, ways, shots, template, name in cases:
        texts, labels, queries, names = episode_texts(seed, ways, shots)
        expected = grader_prompt(texts, labels, queries[0], names, template)
        got = student.call("build_prompt", (texts, labels), queries[0], names, template)
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
          what=f"{len(prompts)} prompts of different lengths scored in one call, against the grader's own computation")
    for i in (0, len(prompts) - 1):
        alone = student_scores(student, model, tokenizer, prompts[i:i + 1], names)
        close(alone[0], together[i], atol=TINY_ATOL, rtol=0,
              what=f"prompt {i} scored alone against the same prompt scored with {len(prompts) - 1} others")
    same_start = [grader_prompt(texts, labels, q, names, INSTRUCT) for q in queries[:2]]
    close(student_scores(student, model, tokenizer, same_start, names[:1]),
          grader_scores(*local_tiny_llama(), same_start, names[:1]), atol=TINY_ATOL, rtol=0,
          what="two prompts sharing the whole support (a long shared prefix) and one label")


@graded(points=2, timeout=180, memory_mb=3072)   # the worker reads the [shared] float weights (assignment.toml)
def test_label_log_likelihoods_real_model(student):
    """on SmolLM2-135M-Instruct, one small episode: the same label log-likelihoods as the grader's"""
    import gc

    from metakit.causal_lm import load_causal_lm

    texts, labels, queries, names = episode_texts(31, 3, 1)
    prompts = [grader_prompt(texts, labels, q, names, INSTRUCT) for q in queries[:2]]
    model, tokenizer = load_causal_lm(device="cpu")      # here first, then freed: one copy in memory at a time
    expected = grader_scores(model, tokenizer, prompts, names)
    del model, tokenizer
    gc.collect()
    pair = student.call("metakit.causal_lm:load_causal_lm", device="cpu", keep=True)
    got = student_scores(student, student.call("operator:getitem", pair, 0, keep=True),
                         student.call("operator:getitem", pair, 1, keep=True), prompts, names)
    close(got, expected, atol=REAL_ATOL, rtol=0,
          what=f"label_log_likelihoods on SmolLM2-135M-Instruct (float32) for {len(prompts)} 3-way 1-shot prompts "
               f"and the labels {names}")


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
    from metakit.grading import tensor

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
