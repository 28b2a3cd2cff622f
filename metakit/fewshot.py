"""Few-shot learning pieces for hw2 (prototypical networks and MAML); never the answers.

What this module gives:

* :func:`load_data`: training, validation and held-out test characters (real Omniglot when it is
  there, the kit's glyphs otherwise); the protocol itself is
  :func:`metakit.data.protocols.fewshot_data`.
* :func:`task_batch`: episodes from :class:`~metakit.episodes.EpisodeSampler` as the list of tasks
  that the student's ``protonet_step`` and ``MAML.outer_step`` take.
* A **functional conv4** for MAML: its parameters live in a plain dict (:func:`conv4_init`) and
  :func:`conv4_forward` runs the network on any such dict, so the inner loop can run it on adapted
  parameters. :class:`Conv4` is the same network as an ``nn.Module`` with the same parameter names:
  ``torch.func.functional_call(Conv4(...), params, (x,))`` equals ``conv4_forward(params, x)``.
  Batch norm always uses the statistics of the batch it sees (no running averages).
* :class:`ProtoNetEmbedding`: the usual conv4 embedding of prototypical networks.
* Training and evaluation loops that call the student's ``protonet_step`` / ``outer_step``
  (tqdm, periodic validation, curves, seconds per step) and evaluation over many test
  episodes with a 95% confidence interval (:func:`metakit.stats.mean_ci95`).

The hidden graders' tensor helpers (``tensor_arrays``, ``grad_arrays``, ``load_tensors``) live in
:mod:`metakit.grading.harness`; this module does not import the grading package.

Shapes (N ways, K shots, Q queries per class, D embedding size)::

    task = (support_x [N*K, 1, 28, 28] float32 in [0, 1], support_y [N*K] int64 in 0..N-1,
            query_x   [N*Q, 1, 28, 28],                   query_y   [N*Q] int64 in 0..N-1)
    task_batch = list of B such tuples
    conv4_forward(params, x [M, 1, 28, 28]) -> logits [M, N]
    ProtoNetEmbedding(hidden)(x [M, 1, 28, 28]) -> features [M, 4 * hidden]
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

# hw2's data protocol lives in metakit.data.protocols; its names stay here
from metakit.data.protocols import FewShotData  # noqa: F401
from metakit.data.protocols import fewshot_data as load_data  # noqa: F401
from metakit.data.source import omniglot_available  # noqa: F401 - part of this module's interface
from metakit.device import device_of, resolve as resolve_device
from metakit.episodes import Episodes, EpisodeSampler
from metakit.stats import format_ci, mean_ci95
from metakit.training import History, LoopConfig, cosine_schedule, renamed

Task = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""(support_x [N*K, 1, 28, 28], support_y [N*K], query_x [N*Q, 1, 28, 28], query_y [N*Q])."""

NUM_BLOCKS = 4


# =========================================================================== tasks
def task_batch(episodes: Episodes, device: torch.device | str | None = None) -> list[Task]:
    """Split a batch of episodes into a list of tasks ``(support_x, support_y, query_x, query_y)``.

    ``episodes.support`` ``[B, N, K, 28, 28]`` -> B tuples of ``[N*K, 1, 28, 28]``, ``[N*K]``,
    ``[N*Q, 1, 28, 28]``, ``[N*Q]`` (labels 0..N-1, way-major order).
    """
    if device is not None:
        episodes = episodes.to(device)
    support_x, support_y, query_x, query_y = episodes.flat()
    return [(support_x[b], support_y[b], query_x[b], query_y[b]) for b in range(support_x.shape[0])]


# =========================================================================== functional conv4
def conv4_param_shapes(num_ways: int, hidden: int = 32, in_channels: int = 1,
                       image_size: int = 28) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every parameter of the conv4 (in the order :func:`conv4_forward` uses them).

    Each block is a 3x3 convolution with stride 2 (``hidden`` filters, padding 1, no bias: batch
    norm removes it) -> batch norm (scale ``bn{i}.weight``, shift ``bn{i}.bias``) -> ReLU; then a
    linear head on the flattened features. 28x28 images become 14, 7, 4, then 2x2 maps. Strided
    convolutions instead of max pooling are what MAML used on Omniglot; on a CPU they are also
    about three times faster (the first block works at 14x14 instead of 28x28).
    """
    if num_ways < 1 or hidden < 1 or in_channels < 1:
        raise ValueError(f"need num_ways, hidden, in_channels >= 1; got {num_ways}, {hidden}, {in_channels}")
    size = image_size
    for _ in range(NUM_BLOCKS):
        size = (size - 1) // 2 + 1  # 3x3, stride 2, padding 1
    if image_size < 2 ** NUM_BLOCKS:
        raise ValueError(f"{image_size}x{image_size} images are too small for {NUM_BLOCKS} stride-2 blocks")
    shapes: dict[str, tuple[int, ...]] = {}
    channels = in_channels
    for i in range(1, NUM_BLOCKS + 1):
        shapes[f"conv{i}.weight"] = (hidden, channels, 3, 3)
        shapes[f"bn{i}.weight"] = (hidden,)
        shapes[f"bn{i}.bias"] = (hidden,)
        channels = hidden
    shapes["head.weight"] = (num_ways, hidden * size * size)
    shapes["head.bias"] = (num_ways,)
    return shapes


class Conv4(nn.Module):
    """The conv4 of MAML as a module; parameter names match :func:`conv4_param_shapes`.

    Batch norm has no running statistics: it always normalises with the statistics of the batch it
    is given, in training and in evaluation (as in MAML, where every task is its own batch).
    ``forward`` is :func:`conv4_forward` on the module's own parameters.
    """

    def __init__(self, num_ways: int, hidden: int = 32, in_channels: int = 1, image_size: int = 28) -> None:
        super().__init__()
        shapes = conv4_param_shapes(num_ways, hidden, in_channels, image_size)
        channels = in_channels
        for i in range(1, NUM_BLOCKS + 1):
            self.add_module(f"conv{i}", nn.Conv2d(channels, hidden, 3, stride=2, padding=1, bias=False))
            self.add_module(f"bn{i}", nn.BatchNorm2d(hidden, track_running_stats=False))
            channels = hidden
        self.head = nn.Linear(shapes["head.weight"][1], num_ways)
        self.num_ways, self.hidden = num_ways, hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x ``[M, C, H, W]`` -> logits ``[M, num_ways]``."""
        return conv4_forward(dict(self.named_parameters()), x)


def conv4_init(num_ways: int, hidden: int = 32, in_channels: int = 1, image_size: int = 28, seed: int = 0,
               device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Fresh conv4 parameters: a dict of leaf tensors with ``requires_grad=True``.

    PyTorch's default initialisation of the same layers, seeded by ``seed`` (the global random
    state is left as it was).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = Conv4(num_ways, hidden, in_channels, image_size)
    return {name: p.detach().to(device=device, dtype=dtype).clone().requires_grad_(True)
            for name, p in module.named_parameters()}


def conv4_forward(params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Run the conv4 with the parameters in ``params`` (any dict with the names of
    :func:`conv4_param_shapes`, e.g. adapted ones). x ``[M, C, H, W]`` -> logits ``[M, N]``.

    Batch norm normalises with the batch's own statistics, so the batch should hold the whole
    support set (or the whole query set) of one task.
    """
    missing = [f"conv{i}.weight" for i in range(1, NUM_BLOCKS + 1) if f"conv{i}.weight" not in params]
    if missing or "head.weight" not in params:
        raise KeyError(f"conv4_forward needs the conv4 parameters {missing or ['head.weight']}; the dict has "
                       f"{sorted(params)[:6]}")
    if x.ndim != 4:
        raise ValueError(f"conv4_forward wants images [M, C, H, W]; got shape {list(x.shape)}")
    h = x
    for i in range(1, NUM_BLOCKS + 1):
        h = F.conv2d(h, params[f"conv{i}.weight"], stride=2, padding=1)
        h = F.batch_norm(h, None, None, params[f"bn{i}.weight"], params[f"bn{i}.bias"], training=True)
        h = F.relu(h)
    return F.linear(h.flatten(1), params["head.weight"], params["head.bias"])


# =========================================================================== ProtoNet embedding
class ProtoNetEmbedding(nn.Module):
    """The conv4 embedding of prototypical networks: x ``[M, 1, 28, 28]`` -> features ``[M, D]``.

    Four blocks conv 3x3 (padding 1) -> batch norm -> ReLU, then flatten. ``downsample="stride"``
    (the default) halves the resolution with stride-2 convolutions, like MAML's conv4 on Omniglot
    (28 -> 14 -> 7 -> 4 -> 2, D = 4 * hidden): the same body for both methods, and about five times
    faster on a CPU than ``downsample="pool"``, the ProtoNet paper's stride-1 convolutions with 2x2
    max pooling (28 -> 14 -> 7 -> 3 -> 1, D = hidden). Batch norm keeps running statistics: call
    ``.train()`` while training and ``.eval()`` to evaluate.
    """

    def __init__(self, hidden: int = 64, in_channels: int = 1, downsample: str = "stride") -> None:
        super().__init__()
        if downsample not in ("stride", "pool"):
            raise ValueError(f"downsample must be 'stride' or 'pool'; got {downsample!r}")
        layers: list[nn.Module] = []
        channels = in_channels
        for _ in range(NUM_BLOCKS):
            if downsample == "stride":
                layers += [nn.Conv2d(channels, hidden, 3, stride=2, padding=1), nn.BatchNorm2d(hidden), nn.ReLU()]
            else:
                layers += [nn.Conv2d(channels, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(),
                           nn.MaxPool2d(2)]
            channels = hidden
        self.blocks = nn.Sequential(*layers)
        self.hidden, self.downsample = hidden, downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"ProtoNetEmbedding wants images [M, C, H, W]; got shape {list(x.shape)}")
        return self.blocks(x).flatten(1)


# =========================================================================== history and evaluation
@dataclass
class Evaluation:
    """Query accuracy of every test episode; ``str()`` gives ``"97.1% +- 0.4"`` (95% CI)."""

    name: str
    accuracies: np.ndarray
    seconds: float

    @property
    def mean(self) -> float:
        return mean_ci95(self.accuracies)[0]

    @property
    def ci95(self) -> float:
        return mean_ci95(self.accuracies)[1]

    def __str__(self) -> str:
        return f"{self.name}: {format_ci(self.accuracies)} over {len(self.accuracies)} episodes"


def _as_float(value: Any, what: str) -> float:
    if torch.is_tensor(value):
        if value.numel() != 1:
            raise ValueError(f"{what} should be one number; got a tensor of shape {list(value.shape)}")
        return float(value.detach().cpu())
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        values = np.asarray(value, dtype=np.float64).ravel()
        if values.size == 0:
            raise ValueError(f"{what} is an empty sequence")
        return float(values[-1])  # accuracies after each inner step: the last one
    return float(value)


def _unpack(result: Any, where: str) -> tuple[Any, float, float]:
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise TypeError(f"{where} should return (loss, support accuracy, query accuracy); got "
                        f"{type(result).__name__}{'' if not isinstance(result, (tuple, list)) else f' of length {len(result)}'}")
    loss, support_acc, query_acc = result
    return loss, _as_float(support_acc, f"{where}'s support accuracy"), _as_float(query_acc, f"{where}'s query accuracy")


# =========================================================================== ProtoNet loops
ProtoNetStep = Callable[[nn.Module, list], tuple]


EARLIER_NAMES = {"iterations": "steps", "val_every": "eval_every", "val_tasks": "eval_episodes"}


@dataclass(frozen=True)
class ProtoNetConfig(LoopConfig):
    """The settings of :func:`train_protonet`: ``steps`` Adam steps at learning rate ``lr``, each on
    ``meta_batch`` training episodes; training figures logged every ``log_every`` steps (and at
    step 1); ``eval_episodes`` validation episodes every ``eval_every`` steps (and at the last);
    ``cosine``: the learning rate decays from ``lr`` to 0 along a half cosine."""

    lr: float = 1e-3
    log_every: int = 10


@dataclass(frozen=True)
class MAMLConfig(LoopConfig):
    """The settings of :func:`train_maml`: as :class:`ProtoNetConfig`, without ``lr``: the learning
    rates are the MAML object's own (its ``optimizer``; ``cosine`` decays them)."""

    log_every: int = 10


def _config(kind: type[LoopConfig], config: LoopConfig | None, settings: dict[str, Any], where: str) -> Any:
    """The loop's config from ``config`` and keyword ``settings``, which may use hw2's earlier names
    (``iterations``, ``val_every``, ``val_tasks``: a DeprecationWarning at the caller's line)."""
    earlier = {name: settings.pop(name) for name in list(settings) if name in EARLIER_NAMES}
    return kind.of(config, {**settings, **renamed(earlier, EARLIER_NAMES, where, stacklevel=4)}, where)


def train_protonet(protonet_step: ProtoNetStep, model: nn.Module, train_sampler: EpisodeSampler,
                   val_sampler: EpisodeSampler | None = None, config: ProtoNetConfig | None = None, *,
                   device: torch.device | str | None = None, progress: bool = True, name: str = "ProtoNet",
                   **settings: Any) -> History:
    """Train ``model`` (the embedding) with Adam on ``protonet_step(model, task_batch)``.

    Each step samples ``meta_batch`` episodes from ``train_sampler``, calls
    ``loss, support_acc, query_acc = protonet_step(model, tasks)`` with the model in train mode,
    then zero_grad / backward / step. Every ``eval_every`` steps (and at the last) the model (in
    eval mode, no gradients) is run on ``eval_episodes`` episodes of ``val_sampler`` (None: no
    validation). ``config``: a :class:`ProtoNetConfig` (default its defaults: 1000 steps of 16
    episodes at lr 1e-3); ``settings``, its fields as keywords (``steps=300, lr=3e-3``), change it.
    The earlier names ``iterations``, ``val_every`` and ``val_tasks`` are still accepted, with a
    DeprecationWarning. ``device``: where the model (moved there) and the episodes live; default
    :func:`metakit.device` (``$METAKIT_DEVICE`` overrides it).
    Returns the :class:`~metakit.training.History` (``seconds``: the training steps' time,
    validation excluded; ``settings``: the config).
    """
    c = _config(ProtoNetConfig, config, settings, "train_protonet")
    device = resolve_device(device)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
    schedule = cosine_schedule(optimizer, c.steps) if c.cosine else None
    history = History(name, settings=asdict(c))
    val_batch = task_batch(val_sampler.episodes(0, c.eval_episodes), device) if val_sampler is not None else None
    bar = tqdm(range(1, c.steps + 1), desc=name, disable=not progress, leave=False)
    for step in bar:
        started = time.perf_counter()
        model.train()
        tasks = task_batch(train_sampler.sample(c.meta_batch), device)
        loss, support_acc, query_acc = _unpack(protonet_step(model, tasks), "protonet_step")
        if not torch.is_tensor(loss) or not loss.requires_grad:
            raise TypeError("protonet_step's loss must be a tensor that depends on the model's parameters "
                            "(do not call .item() or .detach() on it)")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        history.seconds += time.perf_counter() - started
        history.steps = step
        if step % c.log_every == 0 or step == 1:
            _log(history, step, float(loss.detach()), support_acc, query_acc)
            bar.set_postfix(loss=f"{history.last('loss', 'train'):.3f}", query_acc=f"{query_acc:.3f}")
        if val_batch is not None and (step % c.eval_every == 0 or step == c.steps):
            model.eval()
            with torch.no_grad():
                _, _, val_acc = _unpack(protonet_step(model, val_batch), "protonet_step")
            history.log_eval(step, query_accuracy=val_acc)
    if progress:
        bar.close()
        print(history.summary())
    return history


def evaluate_protonet(protonet_step: ProtoNetStep, model: nn.Module, sampler: EpisodeSampler,
                      num_episodes: int = 600, device: torch.device | str | None = None, progress: bool = True,
                      name: str = "ProtoNet") -> Evaluation:
    """Query accuracy of ``model`` on ``num_episodes`` test episodes (``sampler``'s episodes
    0..num_episodes-1), one episode per ``protonet_step`` call, model in eval mode, no gradients.
    ``device``: default where the model's parameters are (a trained model stays where it is)."""
    device = device_of(model) if device is None else torch.device(device)
    model.to(device).eval()
    accuracies = []
    started = time.perf_counter()
    with torch.no_grad():
        for index in tqdm(range(num_episodes), desc=f"evaluating {name}", disable=not progress, leave=False):
            tasks = task_batch(sampler.episodes(index, 1), device)
            accuracies.append(_unpack(protonet_step(model, tasks), "protonet_step")[2])
    return Evaluation(name, np.asarray(accuracies), time.perf_counter() - started)


# =========================================================================== MAML loops
def train_maml(maml: Any, train_sampler: EpisodeSampler, val_sampler: EpisodeSampler | None = None,
               config: MAMLConfig | None = None, *, device: torch.device | str | None = None, progress: bool = True,
               name: str = "MAML", **settings: Any) -> History:
    """Meta-train with ``maml.outer_step(task_batch, train=True)`` (which updates the
    meta-parameters itself); validate with ``outer_step(val_batch, train=False)``.

    ``outer_step`` returns ``(meta_loss, support accuracies after each inner step, query
    accuracy)``; the history records the support accuracy after the last inner step. ``config``: a
    :class:`MAMLConfig` (or its fields as keywords); ``cosine`` decays the learning rate of
    ``maml.optimizer`` from its value to 0 along a half cosine. ``device``: where the episodes go;
    default where the meta-parameters are (``maml.device``, else the device of ``maml.params``),
    since this loop cannot move them. Steps, evaluations and the earlier keyword names as in
    :func:`train_protonet`.
    """
    c = _config(MAMLConfig, config, settings, "train_maml")
    device = device_of(maml) if device is None else torch.device(device)
    history = History(name, settings=asdict(c))
    schedule = cosine_schedule(maml.optimizer, c.steps) if c.cosine else None
    val_batch = task_batch(val_sampler.episodes(0, c.eval_episodes), device) if val_sampler is not None else None
    bar = tqdm(range(1, c.steps + 1), desc=name, disable=not progress, leave=False)
    for step in bar:
        started = time.perf_counter()
        tasks = task_batch(train_sampler.sample(c.meta_batch), device)
        loss, support_acc, query_acc = _unpack(maml.outer_step(tasks, train=True), "outer_step")
        if schedule is not None:
            schedule.step()
        history.seconds += time.perf_counter() - started
        history.steps = step
        if step % c.log_every == 0 or step == 1:
            _log(history, step, _as_float(loss, "outer_step's meta-loss"), support_acc, query_acc)
            bar.set_postfix(loss=f"{history.last('loss', 'train'):.3f}", query_acc=f"{query_acc:.3f}")
        if val_batch is not None and (step % c.eval_every == 0 or step == c.steps):
            _, _, val_acc = _unpack(maml.outer_step(val_batch, train=False), "outer_step")
            history.log_eval(step, query_accuracy=val_acc)
    if progress:
        bar.close()
        print(history.summary())
    return history


def evaluate_maml(maml: Any, sampler: EpisodeSampler, num_episodes: int = 600,
                  device: torch.device | str | None = None, progress: bool = True, name: str = "MAML") -> Evaluation:
    """Query accuracy after adaptation on ``num_episodes`` test episodes, one
    ``outer_step([task], train=False)`` call per episode (the meta-parameters do not change).
    ``device``: where the episodes go; default where the meta-parameters are."""
    device = device_of(maml) if device is None else torch.device(device)
    accuracies = []
    started = time.perf_counter()
    for index in tqdm(range(num_episodes), desc=f"evaluating {name}", disable=not progress, leave=False):
        tasks = task_batch(sampler.episodes(index, 1), device)
        accuracies.append(_unpack(maml.outer_step(tasks, train=False), "outer_step")[2])
    return Evaluation(name, np.asarray(accuracies), time.perf_counter() - started)


def _log(history: History, step: int, loss: float, support_acc: float, query_acc: float) -> None:
    history.log_train(step, loss=loss, support_accuracy=support_acc, query_accuracy=query_acc)


def seconds_per_call(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times))

