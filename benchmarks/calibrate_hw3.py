"""Calibrate hw3's hidden-grader thresholds: run the reference solution's training functions
in-process (no sandbox) on 20 seeds and print the pass rate and the distribution of each measured
quantity against the threshold the grader uses.

    python benchmarks/calibrate_hw3.py [--seeds 20] [--skip-real]

Checks calibrated (constants in autograder/hw3/):
* test_learns_easy_episodes: accuracy of the in-context classifier on new synthetic classes after
  META_STEPS meta-training steps (>= MIN_ACCURACY at 1 and 4 shots);
* test_invariant_to_relabelling: argmax agreement and mean probability gap after relabelling;
* test_finetuning_fits_the_support_set: a tiny BERT fits the 9 toy sentences;
* test_real_model_lora_episode: the real all-MiniLM-L6-v2 with LoRA on a 5-way 4-shot meta-test
  episode, query accuracy >= REAL_MIN_ACCURACY.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metakit.grading.authoring import notebook_module  # noqa: E402
from metakit.grading.local import file_module  # noqa: E402
from metakit.lm import sentence_classifier, tiny_classifier  # noqa: E402
from metakit.textdata import EmbeddingEpisodeSampler, TextEpisodeSampler, intent_splits  # noqa: E402


def load_reference(hw: str = "hw3") -> dict:
    """The definitions of the reference notebook's graded and given cells, as a namespace."""
    return vars(notebook_module(ROOT / "solutions" / hw / f"{hw}.ipynb", f"{hw}_reference"))


def load_graders(hw: str = "hw3") -> dict:
    """The hidden graders' modules (for their constants and data helpers)."""
    folder = ROOT / "autograder" / hw
    sys.path.insert(0, str(folder))
    return {name: file_module(folder / f"{name}.py", name, register=True)
            for name in ("conftest", "test_in_context", "test_finetune")}


def summary(name: str, values: list[float], threshold: float, higher_is_better: bool = True) -> None:
    values = np.asarray(values)
    passed = (values >= threshold) if higher_is_better else (values <= threshold)
    print(f"{name:42s} pass {passed.sum():2d}/{len(values)}  threshold {'>=' if higher_is_better else '<='} "
          f"{threshold:g}  min {values.min():.3f}  p10 {np.percentile(values, 10):.3f}  median "
          f"{np.median(values):.3f}  max {values.max():.3f}")


def in_context(ref: dict, graders: dict, seeds: int) -> None:
    t = graders["test_in_context"]
    c = graders["conftest"]
    accuracy, agreement, gap, seconds = [], [], [], []
    for seed in range(seeds):
        torch.manual_seed(seed)
        x, y = c.synthetic_embeddings(120, 10, t.DIM, seed=seed)
        model = ref["InContextClassifier"](t.DIM, t.WAYS)
        sampler = EmbeddingEpisodeSampler(torch.as_tensor(x), torch.as_tensor(y), t.WAYS, [1, 2, 4], 3, seed=seed)
        start = time.perf_counter()
        ref["meta_train_in_context"](model, sampler, t.META_STEPS, batch_size=t.META_BATCH, lr=t.META_LR)
        seconds.append(time.perf_counter() - start)
        model.eval()

        def logits(support, labels, query):
            with torch.no_grad():
                return model(torch.as_tensor(support), torch.as_tensor(labels), torch.as_tensor(query)).numpy()

        accs = []
        for shots in (1, 4):
            s, sl, q, ql = t.new_classes(seed=seed + 100, shots=shots)
            accs.append(float((logits(s, sl, q).argmax(-1) == ql).mean()))
        accuracy.append(min(accs))
        s, sl, q, _ = t.new_classes(seed=seed + 200, shots=2)
        rng = np.random.default_rng(seed)
        agree, gaps = [], []
        for _ in range(3):
            perm = rng.permutation(t.WAYS)
            p = c.softmax(logits(s, sl, q))
            p2 = c.softmax(logits(s, perm[sl], q))[..., perm]
            agree.append(float((p.argmax(-1) == p2.argmax(-1)).mean()))
            gaps.append(float(np.abs(p - p2).mean()))
        agreement.append(min(agree))
        gap.append(max(gaps))
    print(f"in-context meta-training: {np.mean(seconds):.1f} s per run ({t.META_STEPS} steps, 1 thread)")
    summary("in-context accuracy on new classes (min k)", accuracy, t.MIN_ACCURACY)
    summary("in-context relabelling agreement", agreement, t.MIN_AGREEMENT)
    summary("in-context relabelling probability gap", gap, t.MAX_PROBABILITY_GAP, higher_is_better=False)


def tiny_fit(ref: dict, graders: dict, seeds: int) -> None:
    """test_finetuning_fits_the_support_set: accuracy and loss on the 9 sentences, computed like the grader
    (the trained weights in eval mode), on 20 tiny-BERT initialisations and minibatch seeds."""
    c, f = graders["conftest"], graders["test_finetune"]
    accuracy, loss_ratio = [], []
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = tiny_classifier(3, seed=seed, **c.TINY)
        ref["finetune"](model, (c.TOY_TEXTS, torch.as_tensor(c.TOY_LABELS)), "all", steps=f.TINY_STEPS,
                        lr=3e-3, head_lr=3e-2, batch_size=f.FIT_BATCH, seed=seed)
        logits = c.grader_logits(model, c.TOY_TEXTS)
        p = c.softmax(logits)[np.arange(9), c.TOY_LABELS]
        accuracy.append(float((logits.argmax(1) == c.TOY_LABELS).mean()))
        loss_ratio.append(float(-np.log(p).mean() / np.log(3)))
    summary("tiny BERT support accuracy (all mode)", accuracy, 1.0)
    summary("tiny BERT support loss / log 3", loss_ratio, 0.5, higher_is_better=False)


def real_lora(ref: dict, graders: dict, seeds: int) -> None:
    f = graders["test_finetune"]
    _, meta_test = intent_splits()
    accuracy, seconds = [], []
    for seed in range(seeds):
        torch.manual_seed(seed)
        episode = TextEpisodeSampler(meta_test, f.REAL_WAYS, f.REAL_SHOTS, f.REAL_QUERIES, seed=seed).episode(0)
        model = sentence_classifier(f.REAL_WAYS)
        ref["inject_lora"](model.encoder, 4)
        start = time.perf_counter()
        ref["finetune"](model, episode.support, "lora", steps=f.REAL_STEPS, seed=seed)
        seconds.append(time.perf_counter() - start)
        accuracy.append(float((model.predict(episode.query_texts) == episode.query_labels).float().mean()))
    print(f"real-model LoRA fine-tuning: {np.mean(seconds):.1f} s per run ({f.REAL_STEPS} steps, "
          f"{torch.get_num_threads()} thread(s))")
    summary("real MiniLM + LoRA query accuracy (5-way 4-shot)", accuracy, f.REAL_MIN_ACCURACY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--skip-real", action="store_true", help="skip the real-model check (the slowest)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the grading worker uses 1)")
    parser.add_argument("--parts", default="in_context,tiny_fit,real", help="comma-separated parts to run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    parts = set(args.parts.split(","))
    ref, graders = load_reference(), load_graders()
    if "in_context" in parts:
        in_context(ref, graders, args.seeds)
    if "tiny_fit" in parts:
        tiny_fit(ref, graders, args.seeds)
    if not args.skip_real and "real" in parts:
        real_lora(ref, graders, args.seeds)


if __name__ == "__main__":
    main()
