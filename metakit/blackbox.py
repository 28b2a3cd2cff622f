"""Black-box meta-learning plumbing for hw1 (MANN): data, a training loop, evaluation.

The student writes the three graded parts; this module never contains them:

* ``make_batch(episodes, generator) -> (images [B, K+1, N, 784], labels [B, K+1, N, N])``: the
  MANN layout of a batch of :class:`~metakit.episodes.Episodes` (K shots, one query per class).
* ``model(images, labels) -> predictions [B, K+1, N, N]``: any ``torch.nn.Module``.
* ``loss_fn(predictions, labels) -> scalar``: the meta-training loss.

What the kit gives around them:

* :func:`load_data`: train and test characters, disjoint: the embedded glyphs by default, real
  Omniglot when asked, found by :func:`metakit.data.source.resolve` (see :func:`omniglot_split`);
  the protocol itself is :func:`metakit.data.protocols.blackbox_data`.
* :func:`episode_samplers`: the training and held-out episode streams over a data split.
* :func:`train_blackbox`: Adam on meta-batches of fresh training episodes (tqdm bar), evaluation
  on the same held-out episodes every ``eval_every`` steps, settings in a :class:`BlackboxConfig`,
  curves for :func:`metakit.plot.learning_curves`.
* :func:`evaluate_blackbox` and :func:`query_accuracy`: accuracy on the query row (the last row)
  computed from predictions. Evaluation hides the true query labels from the model: every query
  label the model receives is a class drawn at random, independently of the others (so not a
  shuffle of the classes: the kit holds no part of ``make_batch``), and a model that reads its
  query labels scores chance on held-out episodes instead of a flattering 100%.
* :func:`fit_fixed_batches`: training on episodes given as index arrays (what the hidden graders
  use to train a submitted model on grader-chosen data).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

# hw1's data protocol lives in metakit.data.protocols; its names stay here
from metakit.data.protocols import DataSplit, fraction_split, glyph_split, omniglot_split  # noqa: F401
from metakit.data.protocols import blackbox_data as load_data  # noqa: F401
from metakit.data.source import omniglot_available  # noqa: F401 - part of this module's interface
from metakit.device import device_of, resolve as resolve_device
from metakit.episodes import Episodes, EpisodeSampler
from metakit.paths import shared_omniglot_dir  # noqa: F401 - benchmarks name the folder through this module
from metakit.training import History, LoopConfig, check_finite_loss, cosine_schedule

BatchFn = Callable[[Episodes, torch.Generator], "tuple[torch.Tensor, torch.Tensor]"]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

IMAGE_PIXELS = 28 * 28


# ====================================================================== evaluation
def query_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of query predictions (the last row) whose largest score is at the true class.

    predictions ``[B, K+1, N, N]`` (any scores: logits or probabilities), labels ``[B, K+1, N, N]``
    one-hot. Only row K, the query row, counts.
    """
    _check_layout(predictions, labels)
    guess = predictions[:, -1].argmax(dim=-1)
    truth = labels[:, -1].argmax(dim=-1)
    return float((guess == truth).float().mean().item())


def hide_query_labels(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A copy of ``labels`` ``[B, K+1, N, N]`` whose query row holds decoys: one-hot labels of
    classes drawn uniformly at random, each query on its own (a row may name a class twice).

    The model should never use its query labels; feeding it random ones at evaluation makes a
    model that does visibly fail, where zeros would only hide the mistake. The decoys are
    deliberately not a permutation of the classes: shuffling the query row is part of the
    student's ``make_batch``, not of the kit.
    """
    b, _, n, _ = labels.shape
    classes = torch.randint(n, (b, n), generator=generator)  # [B, N], independent draws
    decoy = torch.nn.functional.one_hot(classes, n).to(dtype=labels.dtype, device=labels.device)
    hidden = labels.clone()
    hidden[:, -1] = decoy
    return hidden


def _check_layout(predictions: torch.Tensor, labels: torch.Tensor) -> None:
    if labels.ndim != 4 or labels.shape[-1] != labels.shape[-2]:
        raise ValueError(f"labels should be one-hot [B, K+1, N, N]; got shape {list(labels.shape)}")
    if tuple(predictions.shape) != tuple(labels.shape):
        raise ValueError(f"predictions should have the labels' shape {list(labels.shape)} "
                         f"([B, K+1, N, N]); got {list(predictions.shape)}")


@torch.no_grad()
def evaluate_blackbox(make_batch: BatchFn, model: torch.nn.Module, loss_fn: LossFn, sampler: EpisodeSampler,
                      episodes: int = 500, batch_size: int = 250, seed: int = 0,
                      device: torch.device | str | None = None) -> tuple[float, float]:
    """(query accuracy, mean loss) on ``episodes`` episodes from the start of ``sampler``'s stream.

    The batches go to ``device`` (default: where the model's parameters are; the model is not moved).

    The same episodes every call (the sampler is rewound), so points of a curve are comparable.
    The model receives random query labels (:func:`hide_query_labels`); the loss and the accuracy
    are computed against the true ones.
    """
    device = device_of(model) if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    decoys = torch.Generator().manual_seed(seed + 1)
    sampler.reset(0)
    correct, losses, seen = 0.0, 0.0, 0
    for start in range(0, episodes, batch_size):
        count = min(batch_size, episodes - start)
        images, labels = make_batch(sampler.sample(count), generator)
        images, labels = images.to(device), labels.to(device)
        predictions = model(images, hide_query_labels(labels, decoys))
        correct += query_accuracy(predictions, labels) * count
        losses += float(loss_fn(predictions, labels)) * count
        seen += count
    model.train(was_training)
    return correct / seen, losses / seen


# ====================================================================== training
@dataclass(frozen=True)
class BlackboxConfig(LoopConfig):
    """The settings of one black-box meta-training run (:func:`train_blackbox`).

    steps: Adam steps, each on ``meta_batch`` fresh training episodes. lr: Adam's learning rate.
    eval_every, eval_episodes: evaluate every ``eval_every`` steps (and at the last) on the same
    ``eval_episodes`` held-out episodes. grad_clip: clip the gradient norm to this value (None: no
    clipping). cosine: decay the learning rate from ``lr`` to 0 along a half cosine over the
    ``steps`` (False: constant ``lr``). seed: seeds the query shuffles (``make_batch``'s generator)
    and the evaluation's decoy query labels.

    What the episodes are (N ways, K shots, rotations, augmentation) belongs to the samplers
    (:func:`episode_samplers`), not to this config.
    """

    steps: int = 2000
    meta_batch: int = 32
    eval_every: int = 250
    eval_episodes: int = 500
    lr: float = 1e-3
    grad_clip: float | None = None
    seed: int = 0


EPISODE_SETTINGS = ("ways", "shots", "rotations", "augment")  # the samplers' part of the earlier keywords


def episode_samplers(data: DataSplit, ways: int, shots: int, *, seed: int = 0, rotations: bool = False,
                     augment: bool = False) -> tuple[EpisodeSampler, EpisodeSampler]:
    """hw1's two episode streams over ``data``: N-way K-shot episodes with one query per class.

    The training sampler draws from ``data.train`` (seed ``seed``; ``rotations`` adds the
    90/180/270-degree rotations of every training character as new classes, ``augment`` warps every
    training image by a small random affine map, :class:`metakit.augment.AffineJitter`); the test
    sampler from ``data.test`` (seed ``10_000 + seed``, never rotated or warped).
    """
    train = EpisodeSampler(data.train, ways, shots, 1, seed=seed, rotations=rotations, augment=augment)
    test = EpisodeSampler(data.test, ways, shots, 1, seed=10_000 + seed)
    return train, test


def _check_samplers(train: EpisodeSampler, test: EpisodeSampler | None) -> None:
    if not isinstance(train, EpisodeSampler) or not isinstance(test, EpisodeSampler):
        raise TypeError("train_blackbox takes a training and a test EpisodeSampler "
                        "(blackbox.episode_samplers(data, ways, shots) makes both)")
    if train.queries != 1 or test.queries != 1:
        raise ValueError(f"black-box episodes have one query per class (the query row of [B, K+1, N, 784]); "
                         f"the samplers give {train.queries} and {test.queries}")
    if (train.ways, train.shots) != (test.ways, test.shots):
        raise ValueError(f"the training episodes are {train.ways}-way {train.shots}-shot but the test episodes "
                         f"{test.ways}-way {test.shots}-shot")


def _from_data_split(data: DataSplit, config: BlackboxConfig | None, settings: dict) -> tuple[EpisodeSampler, EpisodeSampler]:
    """The earlier call ``train_blackbox(..., data, ways=N, shots=K, ...)``: its samplers (and the
    sampler keywords taken out of ``settings``), with a DeprecationWarning."""
    warnings.warn("train_blackbox(..., data, ways=N, shots=K) now takes samplers: "
                  "train_blackbox(..., *blackbox.episode_samplers(data, N, K), ...)", DeprecationWarning, stacklevel=3)
    missing = [name for name in ("ways", "shots") if name not in settings]
    if missing:
        raise TypeError(f"train_blackbox needs {' and '.join(missing)} with a data split (or samplers)")
    episode = {name: settings.pop(name) for name in EPISODE_SETTINGS if name in settings}
    seed = settings.get("seed", config.seed if config is not None else BlackboxConfig.seed)
    return episode_samplers(data, episode.pop("ways"), episode.pop("shots"), seed=seed, **episode)


def train_blackbox(make_batch: BatchFn, model: torch.nn.Module, loss_fn: LossFn,
                   train_sampler: EpisodeSampler | DataSplit, test_sampler: EpisodeSampler | None = None,
                   config: BlackboxConfig | None = None, *, device: torch.device | str | None = None,
                   label: str | None = None, progress: bool = True, **settings) -> History:
    """Meta-train ``model`` with Adam on N-way K-shot episodes; evaluate on held-out characters.

    Every step draws ``meta_batch`` fresh episodes from ``train_sampler`` (K shots and one query
    per class), lays them out with ``make_batch(episodes, generator)``, and takes one Adam step on
    ``loss_fn(model(images, labels), labels)``. Every ``eval_every`` steps (and at the end) it
    measures query accuracy and loss on the same ``eval_episodes`` episodes of ``test_sampler``
    (:func:`evaluate_blackbox`).

    Args:
        make_batch, model, loss_fn: the student's layout, model and loss (see the module doc).
        train_sampler, test_sampler: the training and held-out episodes, one query per class, with
            the same N and K (:func:`episode_samplers` makes both from a :class:`DataSplit`). The
            earlier call with a data split and ``ways=N, shots=K`` (``rotations``, ``augment``)
            still works, with a DeprecationWarning.
        config: the run's settings (:class:`BlackboxConfig`; default its defaults); ``settings``
            (its field names as keywords: ``steps=300, lr=3e-3``) change them.
        device: where the model and the batches live (the model is moved there); default
            :func:`metakit.device` (CUDA, then MPS, then the CPU; ``$METAKIT_DEVICE`` overrides it).
        label: the run's name (default ``"N-way K-shot"``); progress: a tqdm bar and a summary line.

    Returns:
        a :class:`~metakit.training.History`: at every evaluation, the held-out ``query_accuracy``
        and ``loss`` (``evaluation``) and the training ``loss`` and ``query_accuracy`` averaged
        over the steps since the one before (``train``, logged at the same steps); ``settings``
        holds the config and the episodes' ways, shots, rotations and augmentation.
    """
    source = None
    if isinstance(train_sampler, DataSplit):
        if isinstance(test_sampler, BlackboxConfig) and config is None:   # the earlier (data, config) call
            test_sampler, config = None, test_sampler
        source = train_sampler.source
        train_sampler, test_sampler = _from_data_split(train_sampler, config, settings)
    _check_samplers(train_sampler, test_sampler)
    c = BlackboxConfig.of(config, settings, "train_blackbox")
    device = resolve_device(device)
    model.to(device)
    ways, shots = train_sampler.ways, train_sampler.shots
    generator = torch.Generator().manual_seed(c.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    schedule = cosine_schedule(optimizer, c.steps) if c.cosine else None
    episodes = dict(ways=ways, shots=shots, rotations=train_sampler.rotations, augment=train_sampler.augment is not None)
    result = History(label or f"{ways}-way {shots}-shot",
                     settings={**asdict(c), **episodes, **({"data": source} if source is not None else {})})
    window_loss, window_acc, window = 0.0, 0.0, 0
    started = time.perf_counter()
    bar = tqdm(range(1, c.steps + 1), desc=result.name, disable=not progress, leave=False)
    model.train()
    for step in bar:
        images, labels = make_batch(train_sampler.sample(c.meta_batch), generator)
        images, labels = images.to(device), labels.to(device)
        predictions = model(images, labels)
        loss = loss_fn(predictions, labels)
        check_finite_loss(loss, step, c.lr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        window_loss += float(loss.detach())
        window_acc += query_accuracy(predictions.detach(), labels)
        window += 1
        if step % c.eval_every == 0 or step == c.steps:
            accuracy, test_loss = evaluate_blackbox(make_batch, model, loss_fn, test_sampler, c.eval_episodes,
                                                    seed=c.seed, device=device)
            result.log_eval(step, query_accuracy=accuracy, loss=test_loss)
            result.log_train(step, loss=window_loss / window, query_accuracy=window_acc / window)
            window_loss, window_acc, window = 0.0, 0.0, 0
            bar.set_postfix(train_loss=f"{result.last('loss', 'train'):.3f}", test_acc=f"{accuracy:.3f}")
        result.steps = step
    result.seconds = time.perf_counter() - started
    if progress:
        bar.close()
        print(result.summary())   # the bar vanishes (leave=False); this line stays in a saved notebook
    return result


# ============================================================== grader-chosen data
def gather_images(pool: np.ndarray | torch.Tensor, picks: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Images ``[..., 784]`` float32 in [0, 1] from a uint8 pool ``[C, D, 28, 28]`` and
    ``picks [..., 2]`` int (character, drawer) pairs."""
    pool_t = torch.as_tensor(pool)
    picks_t = torch.as_tensor(picks, dtype=torch.long)
    chosen = pool_t[picks_t[..., 0], picks_t[..., 1]]
    return chosen.reshape(*picks_t.shape[:-1], -1).float().div_(255.0)


def fit_fixed_batches(model: torch.nn.Module, loss_fn: LossFn, pool: np.ndarray | torch.Tensor,
                      picks: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor, lr: float = 1e-3,
                      seed: int = 0, device: torch.device | str = "cpu") -> list[float]:
    """Adam on fixed batches: step ``s`` uses images ``gather_images(pool, picks[s])`` and
    ``labels[s]``.

    pool uint8 ``[C, D, 28, 28]``; picks int ``[S, B, K+1, N, 2]``; labels float ``[S, B, K+1, N, N]``.
    The caller lays the batches out; this only runs the optimiser. Returns the loss of every step.
    """
    torch.manual_seed(seed)
    device = torch.device(device)
    model.to(device).train()
    labels_t = torch.as_tensor(labels, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for step in range(labels_t.shape[0]):
        images = gather_images(pool, picks[step]).to(device)
        target = labels_t[step].to(device)
        loss = loss_fn(model(images, target), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            break
    return losses
