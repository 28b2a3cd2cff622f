"""hw3's accuracy table: every method against k on 10-way meta-test intent episodes, with 95%
confidence intervals, and the time of one fine-tuning run.

Runs the reference solution (solutions/hw3/hw3.ipynb) in-process with the notebook's settings:
fine-tuning (head, last-2, all, LoRA r=4 and r=16; FINETUNE_STEPS steps, default learning rates)
on the first ``--episodes-ft`` episodes of each k, and nearest class means (prototypes) and the
in-context classifier (meta-trained for ``--icl-steps`` steps on the 32 meta-training intents) on
the first ``--episodes-fast`` episodes of the same stream. Intervals are over episodes.

Times are wall-clock seconds on this machine, and also a ratio to a baseline measured in the same
process (one forward + backward pass of the whole model on 16 support sentences), so that runs on
different machines compare: the target is "each fine-tuning run <= 1 minute on 2 CPU cores".

    python benchmarks/hw3_accuracy.py [--episodes-ft 6] [--episodes-fast 500] [--icl-steps 1500]
                                      [--threads N] [--json out.json]

Prompting SmolLM2-135M-Instruct (parts 6-7): k-shot prompts (the reference build_prompt, the
instruction template, natural label names, the support shuffled with a seed) scored by the reference
label_log_likelihoods on the first ``--prompting-episodes`` 10-way episodes, ``--prompting-queries``
queries per intent, for k = 0, 1, 2, 4, 8; accuracy with 95% intervals over episodes:

    python benchmarks/hw3_accuracy.py --prompting-only [--prompting-episodes 200] [--prompting-queries 1]

Measured 2026-12-07 with the defaults (--prompting-episodes 200 --prompting-queries 1) and --threads 1,
float32, on a 2-core machine with one other job on the other core: 200 episodes in 81.8 min (24.5 s
an episode, all five k). Accuracy over episodes, % with 95% CI (chance 10%), and seconds per query:

    k = 0: 17.0 +- 1.4 (0.19 s)    k = 1: 48.7 +- 2.4 (0.26 s)    k = 2: 52.4 +- 2.2 (0.34 s)
    k = 4: 57.5 +- 2.2 (0.56 s)    k = 8: 67.1 +- 2.1 (1.12 s)
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from calibrate_hw3 import load_reference  # noqa: E402

from metakit.lm import SentenceClassifier, count_trainable, embed_texts, load_pretrained  # noqa: E402
from metakit.stats import mean_ci95  # noqa: E402
from metakit.textdata import EmbeddingEpisodeSampler, TextEpisodeSampler, load_intents  # noqa: E402

WAYS, QUERIES, SHOTS, TEST_SEED = 10, 8, (1, 4, 16), 2024
METHODS = {"head": ("head", None), "last-2": ("last2", None), "all": ("all", None),
           "LoRA r=4": ("lora", 4), "LoRA r=16": ("lora", 16)}


def baseline_seconds(encoder, tokenizer, texts: list[str], repeats: int = 3) -> float:
    """One forward + backward pass of the whole classifier on 16 sentences (median of repeats)."""
    model = SentenceClassifier(copy.deepcopy(encoder), tokenizer, WAYS)
    model.train()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        model(texts[:16]).sum().backward()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes-ft", type=int, default=6)
    parser.add_argument("--episodes-fast", type=int, default=500)
    parser.add_argument("--icl-steps", type=int, default=1500)
    parser.add_argument("--prompting-episodes", type=int, default=200)
    parser.add_argument("--prompting-queries", type=int, default=1, help="queries per intent in each prompting episode")
    parser.add_argument("--prompting-only", action="store_true", help="only the prompting table (parts 6-7)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref = load_reference()
    from tqdm.auto import tqdm

    if args.prompting_only:
        prompting_table(ref, load_intents().split("test"), args.prompting_episodes, args.prompting_queries, args.json)
        return

    collection = load_intents()
    meta_train, meta_test = collection.split("train"), collection.split("test")
    encoder, tokenizer = load_pretrained()
    base = baseline_seconds(encoder, tokenizer, meta_test.texts)
    print(f"threads {torch.get_num_threads()}; baseline (forward + backward, 16 sentences): {base:.3f} s")

    train_emb = embed_texts(encoder, tokenizer, meta_train.texts, normalize=True)
    test_emb = embed_texts(encoder, tokenizer, meta_test.texts, normalize=True)
    in_context = ref["InContextClassifier"](train_emb.shape[1], WAYS)
    sampler = EmbeddingEpisodeSampler(train_emb, meta_train.labels, WAYS, (1, 2, 4, 8, 16), 4, seed=1,
                                      shuffle_features=True)
    start = time.perf_counter()
    ref["meta_train_in_context"](in_context, sampler, args.icl_steps, progress=True)
    icl_seconds = time.perf_counter() - start

    results: dict[str, dict[int, list[float]]] = {m: {} for m in [*METHODS, "prototypes", "in-context"]}
    seconds: dict[str, dict[int, list[float]]] = {m: {k: [] for k in SHOTS} for m in METHODS}
    trainable: dict[str, int] = {"prototypes": 0, "in-context": 0}
    for k in SHOTS:
        fast = EmbeddingEpisodeSampler(test_emb, meta_test.labels, WAYS, k, QUERIES, seed=TEST_SEED).batch(
            0, args.episodes_fast)
        onehot = F.one_hot(fast.support_labels, WAYS).float()
        means = onehot.transpose(1, 2) @ fast.support / onehot.sum(1).unsqueeze(-1)
        proto = (fast.query @ F.normalize(means, dim=-1).transpose(1, 2)).argmax(-1)
        results["prototypes"][k] = (proto == fast.query_labels).float().mean(1).tolist()
        with torch.no_grad():
            icl = torch.cat([in_context(fast.support[i:i + 50], fast.support_labels[i:i + 50],
                                        fast.query[i:i + 50]).argmax(-1) for i in range(0, args.episodes_fast, 50)])
        results["in-context"][k] = (icl == fast.query_labels).float().mean(1).tolist()
        texts = TextEpisodeSampler(meta_test, WAYS, k, QUERIES, seed=TEST_SEED)
        for m in METHODS:
            results[m][k] = []
        for i in tqdm(range(args.episodes_ft), desc=f"fine-tuning k={k}"):
            episode = texts.episode(i)
            for m, (mode, rank) in METHODS.items():
                model = SentenceClassifier(copy.deepcopy(encoder), tokenizer, WAYS)
                if rank is not None:
                    ref["inject_lora"](model.encoder, rank)
                start = time.perf_counter()
                ref["finetune"](model, episode.support, mode, seed=i)
                seconds[m][k].append(time.perf_counter() - start)
                trainable[m] = count_trainable(model)
                accuracy = (model.predict(episode.query_texts) == episode.query_labels).float().mean().item()
                results[m][k].append(accuracy)

    steps = ref["FINETUNE_STEPS"]
    print(f"\n{WAYS}-way meta-test episodes, {QUERIES} queries per intent; fine-tuning: {args.episodes_ft} "
          f"episodes per k, {steps} steps; prototypes and in-context: {args.episodes_fast} episodes; "
          f"in-context meta-training: {args.icl_steps} steps in {icl_seconds:.0f} s\n")
    header = "| method | trainable | " + " | ".join(f"k = {k}" for k in SHOTS) + " | s / run (k=1, 4, 16) |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for m, by_k in results.items():
        cells = []
        for k in SHOTS:
            mean, ci = mean_ci95(by_k[k])
            cells.append(f"{100 * mean:.1f} ± {100 * np.nan_to_num(ci):.1f}")
        timing = " / ".join(f"{np.mean(seconds[m][k]):.1f}" for k in SHOTS) if m in seconds else "-"
        print(f"| {m} | {trainable[m]:,} | " + " | ".join(cells) + f" | {timing} |")
    print("\nfine-tuning time per run, as a multiple of the baseline (forward + backward on 16 sentences):")
    for m in METHODS:
        all_runs = [s for k in SHOTS for s in seconds[m][k]]
        print(f"  {m:10s} mean {np.mean(all_runs):6.1f} s  max {np.max(all_runs):6.1f} s  "
              f"= {np.mean(all_runs) / base:5.1f} x baseline")
    if args.json:
        args.json.write_text(json.dumps({"results": {m: {str(k): v for k, v in r.items()} for m, r in results.items()},
                                         "seconds": {m: {str(k): v for k, v in s.items()} for m, s in seconds.items()},
                                         "trainable": trainable, "baseline_seconds": base,
                                         "icl_seconds": icl_seconds, "args": {k: str(v) for k, v in vars(args).items()}},
                                        indent=1))


PROMPT_SHOTS = (0, 1, 2, 4, 8)


def prompting_table(ref: dict, meta_test, episodes: int, queries: int, json_path: Path | None) -> None:
    """k-shot prompting accuracy of SmolLM2-135M-Instruct on 10-way meta-test episodes, with 95% CIs."""
    from tqdm.auto import tqdm

    from metakit.causal_lm import load_causal_lm

    start = time.perf_counter()
    model, tokenizer = load_causal_lm(device="cpu")
    print(f"SmolLM2-135M-Instruct loaded in {time.perf_counter() - start:.1f} s; threads {torch.get_num_threads()}")
    sampler = TextEpisodeSampler(meta_test, WAYS, max(PROMPT_SHOTS), queries, seed=TEST_SEED)
    results = {k: [] for k in PROMPT_SHOTS}
    seconds = {k: 0.0 for k in PROMPT_SHOTS}
    for i in tqdm(range(episodes), desc="prompting episodes"):
        episode = sampler.episode(i)
        names = [n.replace("_", " ") for n in episode.class_names]
        order = torch.randperm(len(episode.support_texts), generator=torch.Generator().manual_seed(i)).tolist()
        for k in PROMPT_SHOTS:
            keep = [j for j in order if j % episode.shots < k]
            support = ([episode.support_texts[j] for j in keep], episode.support_labels[keep])
            prompts = [ref["build_prompt"](support, q, names, ref["INSTRUCT_TEMPLATE"]) for q in episode.query_texts]
            start = time.perf_counter()
            with torch.no_grad():
                scores = ref["label_log_likelihoods"](model, tokenizer, prompts, names)
            seconds[k] += time.perf_counter() - start
            results[k].append((scores.argmax(-1) == episode.query_labels).float().mean().item())
    print(f"\nprompting SmolLM2-135M-Instruct (float32, CPU), {WAYS}-way meta-test episodes, {episodes} episodes, "
          f"{queries} query per intent, instruction template, natural label names, support shuffled:\n")
    print("| k | accuracy (%, 95% CI) | s / query |")
    print("|---|---|---|")
    for k in PROMPT_SHOTS:
        mean, ci = mean_ci95(results[k])
        print(f"| {k} | {100 * mean:.1f} ± {100 * np.nan_to_num(ci):.1f} | {seconds[k] / (episodes * WAYS * queries):.3f} |")
    if json_path:
        json_path.write_text(json.dumps({"prompting": {str(k): v for k, v in results.items()},
                                         "seconds": {str(k): v for k, v in seconds.items()}}, indent=1))


if __name__ == "__main__":
    main()
