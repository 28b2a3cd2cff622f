"""hw2 on new alphabets: leave whole alphabets out, score N-way 1-shot within a held-out alphabet.

The pool is the union of the two official minimal splits (242 characters of 8 alphabets:
Japanese_(katakana) 47, Sanskrit 42, Korean 40, Latin 26, Balinese 24, Greek 24, Early_Aramaic 22,
Tagalog 17). A split holds out ``--test-count`` whole alphabets (default 2), chosen by
``--split-seed`` among the alphabets with at least 20 characters (so that 20-way episodes within
one of them exist; Tagalog always trains), or named with ``--test-alphabets``. From the training
alphabets, ``--char-test`` characters (default 40, seeded ``split_by_character``) are held out too,
for today's held-out-character figures (5-way 1- and 5-shot, as ``hw2_targets.py`` scores them; with
fewer training characters than there: 242 - held-out alphabets - 40, against 180).

One model per method is trained on the remaining characters (the notebook's settings, read from
``solutions/hw2/hw2.ipynb`` through ``hw2_targets``; ``--set key=value`` overrides them) and scored,
15 queries per class, ``--episodes`` episodes per figure, 95% CI, on:

* ``within-5``   5-way 1-shot, every class from one held-out alphabet (the alphabet drawn
  uniformly per episode among the held-out ones that have at least N characters);
* ``within-20``  20-way 1-shot within one held-out alphabet;
* ``across-20``  20-way 1-shot over all held-out alphabets' characters together;
* ``chars-5w1s`` / ``chars-5w5s``  5-way 1/5-shot on the held-out characters of training alphabets.

ProtoNet is also scored with test-time variants of the same embeddings (no retraining):
``ref`` (the reference: squared Euclidean to class means), ``cos`` (cosine to the class means),
``l2`` (embeddings L2-normalised, then the reference), ``cl2n`` (embeddings centred on the episode's
support mean, then L2-normalised: SimpleShot's CL2N). ``--budget-s`` stops training after that many
seconds (the schedule still spans ``steps``; the table says where it stopped).

Run: ``nice python benchmarks/new_alphabets.py [--method protonet|maml] [--threads 1] [--episodes 600]
[--set steps=2000 ways=20] [--budget-s 600] [--split-seed 0 | --test-alphabets Korean Greek]``
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from hw2_targets import BUDGET_S, augmentation, load_reference, notebook_settings, parse_overrides  # noqa: E402
from metakit import fewshot  # noqa: E402
from metakit.data.charset import CharacterSet  # noqa: E402
from metakit.data.source import load_characters  # noqa: E402
from metakit.data.splits import assert_disjoint, split_alphabets, split_by_character  # noqa: E402
from metakit.episodes import Episodes, EpisodeSampler, episode_seed  # noqa: E402
from metakit.stats import mean_ci95  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

QUERIES = 15
MAX_WAYS = 20
FIGURES = ("within-5", "within-20", "across-20", "chars-5w1s", "chars-5w5s")
TEST_TIME = ("ref", "cos", "l2", "cl2n")
_ALPHABET_SALT = 0xA1FA_BE7


# =========================================================================== splits
@dataclass(frozen=True)
class AlphabetSplit:
    """Training characters, held-out characters of the training alphabets, held-out alphabets."""

    train: CharacterSet
    held_out_characters: CharacterSet
    held_out_alphabets: CharacterSet
    test_alphabets: tuple[str, ...]

    def summary(self) -> str:
        counts = {str(a): int(n) for a, n in zip(*np.unique([e["alphabet"] for e in self.held_out_alphabets.manifest],
                                                       return_counts=True))}
        return (f"test alphabets {counts}; {self.train.num_characters} training characters of "
                f"{len(self.train.alphabets)} alphabets {self.train.alphabets}; "
                f"{self.held_out_characters.num_characters} held-out characters of those alphabets")


def choose_test_alphabets(pool: CharacterSet, count: int, seed: int, min_characters: int = MAX_WAYS) -> list[str]:
    """A seeded choice of ``count`` alphabets among those with at least ``min_characters`` characters."""
    sizes = {a: int((pool.alphabet_of() == i).sum()) for i, a in enumerate(pool.alphabets)}
    eligible = [a for a in pool.alphabets if sizes[a] >= min_characters]
    if count < 1 or count >= len(pool.alphabets) or count > len(eligible):
        raise ValueError(f"cannot hold out {count} of {len(pool.alphabets)} alphabets ({len(eligible)} have at "
                         f"least {min_characters} characters: {eligible})")
    picked = np.random.default_rng(seed).choice(len(eligible), size=count, replace=False)
    return sorted(eligible[i] for i in picked)


def leave_alphabets_out(pool: CharacterSet, test_alphabets: Sequence[str], char_test: int,
                        seed: int = 0) -> AlphabetSplit:
    """Hold out ``test_alphabets`` whole, and ``char_test`` characters of the others; checked disjoint."""
    rest, held_out_alphabets = split_alphabets(pool, list(test_alphabets))
    train, held_out_characters = split_by_character(rest, sizes=(rest.num_characters - char_test, char_test),
                                                    seed=seed)
    assert_disjoint(train, held_out_characters, held_out_alphabets)
    return AlphabetSplit(train, held_out_characters, held_out_alphabets, tuple(sorted(test_alphabets)))


# =========================================================================== episodes
class WithinAlphabetSampler:
    """N-way K-shot episodes whose N classes all come from one alphabet.

    Episode ``i`` draws its alphabet uniformly among the alphabets of ``charset`` that have at
    least N characters (from a stream seeded by ``(seed, i)``), then is episode ``i`` of that
    alphabet's own :class:`EpisodeSampler` (seeded ``seed``). ``episodes(i, count)`` returns
    :class:`Episodes` like ``EpisodeSampler.episodes``, with ``classes [B, N]`` indexing ``charset``.
    """

    def __init__(self, charset: CharacterSet, ways: int, shots: int, queries: int, seed: int = 0) -> None:
        alphabet_of = charset.alphabet_of()
        self.members: list[np.ndarray] = []
        self.samplers: list[EpisodeSampler] = []
        self.names: list[str] = []
        for index, name in enumerate(charset.alphabets):
            members = np.flatnonzero(alphabet_of == index)
            if len(members) >= ways:
                self.names.append(name)
                self.members.append(members)
                self.samplers.append(EpisodeSampler(charset.subset(members), ways, shots, queries, seed=seed))
        if not self.samplers:
            raise ValueError(f"no alphabet of {charset.name} has {ways} characters for {ways}-way episodes "
                             f"within one alphabet")
        self.ways, self.shots, self.queries, self.seed = ways, shots, queries, seed

    def alphabet_index(self, index: int) -> int:
        gen = torch.Generator().manual_seed(episode_seed(self.seed ^ _ALPHABET_SALT, index))
        return int(torch.randint(len(self.samplers), (1,), generator=gen))

    def episodes(self, start: int, count: int) -> Episodes:
        parts = []
        for index in range(start, start + count):
            a = self.alphabet_index(index)
            episode = self.samplers[a].episodes(index, 1)
            global_classes = torch.as_tensor(self.members[a])[episode.classes]
            parts.append(Episodes(episode.support, episode.query, global_classes))
        return Episodes(torch.cat([p.support for p in parts]), torch.cat([p.query for p in parts]),
                        torch.cat([p.classes for p in parts]))


def test_samplers(split: AlphabetSplit, seed: int = 2) -> dict[str, WithinAlphabetSampler | EpisodeSampler]:
    """The five figures' samplers (seed 2, as hw2_targets' test samplers)."""
    return {
        "within-5": WithinAlphabetSampler(split.held_out_alphabets, 5, 1, QUERIES, seed=seed),
        "within-20": WithinAlphabetSampler(split.held_out_alphabets, 20, 1, QUERIES, seed=seed),
        "across-20": EpisodeSampler(split.held_out_alphabets, 20, 1, QUERIES, seed=seed),
        "chars-5w1s": EpisodeSampler(split.held_out_characters, 5, 1, QUERIES, seed=seed),
        "chars-5w5s": EpisodeSampler(split.held_out_characters, 5, 5, QUERIES, seed=seed),
    }


# =========================================================================== ProtoNet scoring
def _classify(ref, variant: str, support_f: torch.Tensor, support_y: torch.Tensor, query_f: torch.Tensor,
              ways: int) -> torch.Tensor:
    """Query logits [M, N] from support [S, D] and query [M, D] embeddings under a test-time variant."""
    if variant == "cl2n":
        centre = support_f.mean(dim=0, keepdim=True)
        support_f, query_f = support_f - centre, query_f - centre
    if variant in ("l2", "cl2n"):
        support_f, query_f = F.normalize(support_f, dim=-1), F.normalize(query_f, dim=-1)
    protos = ref.prototypes(support_f, support_y, ways)
    if variant == "cos":
        return F.normalize(query_f, dim=-1) @ F.normalize(protos, dim=-1).T
    return ref.protonet_logits(query_f, protos)


def score_protonet(ref, model: torch.nn.Module, sampler, episodes: int, variants: Sequence[str],
                   progress: bool = False) -> dict[str, np.ndarray]:
    """Query accuracy per episode for each test-time variant, from one embedding pass per episode."""
    model.eval()
    accuracies: dict[str, list[float]] = {v: [] for v in variants}
    with torch.no_grad():
        for index in tqdm(range(episodes), desc="evaluating", disable=not progress, leave=False):
            (support_x, support_y, query_x, query_y), = fewshot.task_batch(sampler.episodes(index, 1))
            features = model(torch.cat([support_x, query_x]))
            support_f, query_f = features[: len(support_x)], features[len(support_x):]
            for v in variants:
                logits = _classify(ref, v, support_f, support_y, query_f, sampler.ways)
                accuracies[v].append(ref.accuracy(logits, query_y))
    return {v: np.asarray(a) for v, a in accuracies.items()}


class _OutOfBudget(Exception):
    pass


def _budgeted(step: Callable, budget_s: float | None, started: float) -> Callable:
    def step_within_budget(model, tasks):
        if budget_s is not None and time.perf_counter() - started > budget_s:
            raise _OutOfBudget
        return step(model, tasks)
    return step_within_budget


def train_protonet(ref, split: AlphabetSplit, s: dict, budget_s: float | None, progress: bool):
    """The reference ProtoNet trained as hw2_targets trains it (rotations, the notebook's settings)."""
    torch.manual_seed(0)
    model = fewshot.ProtoNetEmbedding(hidden=s["hidden"], downsample=s.get("downsample", "stride"))
    train = EpisodeSampler(split.train, s["ways"], s["shots"], s["queries"], seed=0, rotations=True,
                           augment=augmentation(s))
    started = time.perf_counter()
    step = _budgeted(ref.protonet_step, budget_s, started)
    try:
        history = fewshot.train_protonet(step, model, train, None, steps=s["steps"],
                                         meta_batch=s["meta_batch"], lr=s["lr"], cosine=s.get("cosine", False),
                                         progress=progress)
        done = history.steps
    except _OutOfBudget:
        done = train._next // s["meta_batch"] - 1
    return model, done, time.perf_counter() - started


# =========================================================================== MAML
def train_maml(ref, split: AlphabetSplit, s: dict, budget_s: float | None, progress: bool):
    ways = s.get("ways", 5)
    maml = ref.MAML(num_ways=ways, num_inner_steps=s["num_inner_steps"], inner_lr=s["inner_lr"],
                    learn_inner_lrs=s["learn_inner_lrs"], outer_lr=s["outer_lr"], first_order=s.get("first_order", False),
                    hidden=s["hidden"], seed=0)
    train = EpisodeSampler(split.train, ways, 1, s["queries"], seed=0, rotations=True, augment=augmentation(s))
    started = time.perf_counter()
    outer_step = maml.outer_step

    def step_within_budget(tasks, train=True):
        if budget_s is not None and time.perf_counter() - started > budget_s:
            raise _OutOfBudget
        return outer_step(tasks, train=train)

    maml.outer_step = step_within_budget
    try:
        history = fewshot.train_maml(maml, train, None, steps=s["steps"], meta_batch=s["meta_batch"],
                                     cosine=s.get("cosine", False), progress=progress)
        done = history.steps
    except _OutOfBudget:
        done = train._next // s["meta_batch"] - 1
    finally:
        maml.outer_step = outer_step
    return maml, done, time.perf_counter() - started


def score_maml(maml, sampler, episodes: int) -> np.ndarray:
    return fewshot.evaluate_maml(maml, sampler, episodes, progress=False).accuracies


# =========================================================================== report
def ci_text(accuracies: np.ndarray) -> str:
    mean, ci = mean_ci95(accuracies)
    return f"{mean * 100:6.2f} +- {ci * 100:4.2f}"


def print_table(method: str, rows: dict[str, dict[str, np.ndarray]], figure_seconds: dict[str, float]) -> None:
    figures = [f for f in FIGURES if f in figure_seconds]
    print(f"\n{method}: query accuracy % +- 95% CI ({QUERIES} queries per class)")
    print(f"  {'test-time':9s} " + " ".join(f"{f:>16s}" for f in figures))
    for variant, by_figure in rows.items():
        cells = [ci_text(by_figure[f]) if f in by_figure else "n/a" for f in figures]
        print(f"  {variant:9s} " + " ".join(f"{c:>16s}" for c in cells))
    print(f"  {'eval s':9s} " + " ".join(f"{figure_seconds[f]:16.0f}" for f in figures), flush=True)


def run(method: str, ref, split: AlphabetSplit, episodes: int, overrides: dict, budget_s: float | None,
        variants: Sequence[str], progress: bool) -> dict:
    name = "PROTO" if method == "protonet" else "MAML_MAIN"
    s = {**notebook_settings(name), **overrides}
    print(f"{method} settings: {s}", flush=True)
    started = time.perf_counter()
    trainer = train_protonet if method == "protonet" else train_maml
    model, done, train_s = trainer(ref, split, s, budget_s, progress)
    print(f"  trained {done} of {s['steps']} steps in {train_s:.0f} s"
          f"{' (stopped by --budget-s)' if done < s['steps'] else ''}", flush=True)
    rows: dict[str, dict[str, np.ndarray]] = {v: {} for v in (variants if method == "protonet" else ["adapted"])}
    figure_seconds: dict[str, float] = {}
    for figure, sampler in test_samplers(split).items():
        if method == "maml" and sampler.ways != s.get("ways", 5):
            continue  # MAML's head has a fixed number of ways
        t0 = time.perf_counter()
        if method == "protonet":
            for v, acc in score_protonet(ref, model, sampler, episodes, variants, progress).items():
                rows[v][figure] = acc
        else:
            rows["adapted"][figure] = score_maml(model, sampler, episodes)
        figure_seconds[figure] = time.perf_counter() - t0
    total = time.perf_counter() - started
    print_table(method, rows, figure_seconds)
    print(f"  wall time {total / 60:.1f} min (training {train_s:.0f} s, evaluation {sum(figure_seconds.values()):.0f} s;"
          f" budget {BUDGET_S / 60:.0f} min)", flush=True)
    return {"settings": s, "steps_done": done, "train_s": train_s, "total_s": total,
            "accuracy": {v: {f: mean_ci95(a) for f, a in r.items()} for v, r in rows.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["protonet", "maml"], default=None, help="default: both")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=600, help="test episodes per figure")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override a notebook setting, e.g. steps=2000 ways=20 downsample=pool")
    parser.add_argument("--budget-s", type=float, default=None, help="stop training after this many seconds")
    parser.add_argument("--source", default="omniglot", help="omniglot (the minimal splits) or glyphs")
    parser.add_argument("--split-seed", type=int, default=0, help="which alphabets are held out")
    parser.add_argument("--test-count", type=int, default=2, help="how many alphabets are held out")
    parser.add_argument("--test-alphabets", nargs="*", default=None, help="name them instead of --split-seed")
    parser.add_argument("--char-test", type=int, default=40, help="held-out characters of training alphabets")
    parser.add_argument("--test-time", nargs="*", default=list(TEST_TIME), choices=TEST_TIME)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    pool = load_characters(args.source).pool
    tests = args.test_alphabets or choose_test_alphabets(pool, args.test_count, args.split_seed)
    split = leave_alphabets_out(pool, tests, args.char_test, seed=args.split_seed)
    how = "named" if args.test_alphabets else f"split seed {args.split_seed}"
    print(f"{args.source}: {pool.num_characters} characters, {len(pool.alphabets)} alphabets; {how}: "
          f"{split.summary()}; torch {torch.__version__}, {args.threads} thread(s)", flush=True)
    ref = load_reference()
    overrides = parse_overrides(args.set)
    for method in ([args.method] if args.method else ["protonet", "maml"]):
        run(method, ref, split, args.episodes, overrides, args.budget_s, args.test_time, args.progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
