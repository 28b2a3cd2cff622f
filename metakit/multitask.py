"""Multi-task learning on handwritten characters (hw0): tasks, a training loop, baselines, plots.

A *task* (lecture 2) is ``T_i = {p_i(x), p_i(y|x), L_i}`` with its own training and test data.
Here the tasks are built from a :class:`~metakit.data.charset.CharacterSet`:

* one **classification** task per alphabet ("recognise the characters of Greek"), with only a few
  training drawers per character, so that sharing across alphabets can help;
* **attribute** tasks on the same images (multi-label learning): ``strokes`` (regression, from the
  glyph generator's manifest), ``has_curve`` / ``has_loop`` / ``has_dot`` (binary, from the
  manifest) and ``ink`` (regression on the amount of ink, computed from the image, so it exists
  for real Omniglot too); they differ from the alphabet tasks in loss function and label scale;
* **conflicting** tasks: the same images with their labels permuted across images, so the label
  no longer depends on the image; built to interfere with the others (negative transfer).

Shapes: images ``x [B, 1, 28, 28]`` float32 in [0, 1]; the task descriptor ``z [B, T]`` is the
one-hot task index of each row (T tasks); a model maps ``(x, z)`` to ``outputs [B, O]`` where
``O = TaskSet.num_outputs`` is the largest output size of any task. Task ``i`` reads the first
``tasks[i].num_outputs`` columns: all of them for an alphabet with O characters, column 0 for a
binary or regression task.

The training loop :func:`train_multitask` takes the three pieces a student writes as arguments
(the model, the task sampler and the multi-task loss), so this module holds none of them; it gives
the data, the loop, independent single-task baselines (:func:`train_independent`), evaluation and
plots.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from metakit.data.charset import CharacterSet
from metakit.device import resolve as resolve_device

TASK_KINDS = ("classification", "binary", "regression")
BINARY_ATTRIBUTES = ("has_curve", "has_loop", "has_dot", "top_heavy", "wide")
REGRESSION_ATTRIBUTES = ("strokes", "ink")
IMAGE_ATTRIBUTES = ("ink", "top_heavy", "wide")
CONDITIONINGS = ("independent", "concat", "additive", "multihead", "multiplicative")

Sampler = Callable[..., tuple[torch.Tensor, list[torch.Tensor]]]
LossFn = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


# ============================================================================ tasks
@dataclass
class TaskBatch:
    """A mini-batch of one task: inputs, descriptors, labels and how to score them.

    Attributes:
        task: the task's index ``i`` in its :class:`TaskSet`.
        x: ``[B, 1, 28, 28]`` float32 images.
        z: ``[B, T]`` float32 one-hot task descriptors (row ``b`` is ``e_i``).
        y: ``[B]`` labels: int64 classes, or float32 (0/1 for binary, a number for regression).
        kind: ``"classification"``, ``"binary"`` or ``"regression"``.
        num_outputs: how many output columns this task reads (classes, or 1).
    """

    task: int
    x: torch.Tensor
    z: torch.Tensor
    y: torch.Tensor
    kind: str
    num_outputs: int

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f"TaskBatch.kind must be one of {TASK_KINDS}; got {self.kind!r}")
        if self.x.shape[0] != self.y.shape[0] or self.z.shape[0] != self.y.shape[0]:
            raise ValueError(f"TaskBatch: x {tuple(self.x.shape)}, z {tuple(self.z.shape)} and "
                             f"y {tuple(self.y.shape)} must have the same number of rows")
        if self.kind == "classification" and self.y.dtype != torch.int64:
            self.y = self.y.long()
        if self.kind != "classification" and not torch.is_floating_point(self.y):
            self.y = self.y.float()

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def loss(self, outputs: torch.Tensor) -> torch.Tensor:
        """This task's loss ``L_i`` on the model's ``outputs [B, O]`` (a scalar tensor)."""
        return task_loss(self.kind, self.num_outputs, outputs, self.y)

    def to(self, device: torch.device | str) -> "TaskBatch":
        return TaskBatch(self.task, self.x.to(device), self.z.to(device), self.y.to(device), self.kind,
                         self.num_outputs)


def task_loss(kind: str, num_outputs: int, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the first ``num_outputs`` columns, binary cross-entropy on the logit in
    column 0, or the mean squared error of column 0. ``outputs [B, O]``, ``y [B]`` -> scalar."""
    if outputs.ndim != 2 or outputs.shape[0] != y.shape[0]:
        raise ValueError(f"outputs should be [B, O] with B = {y.shape[0]} rows; got {tuple(outputs.shape)}")
    if outputs.shape[1] < num_outputs:
        raise ValueError(f"this task reads {num_outputs} output columns but the model gave only "
                         f"{outputs.shape[1]}")
    if kind == "classification":
        return F.cross_entropy(outputs[:, :num_outputs], y.long())
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(outputs[:, 0], y.to(outputs.dtype))
    if kind == "regression":
        return F.mse_loss(outputs[:, 0], y.to(outputs.dtype))
    raise ValueError(f"unknown task kind {kind!r}; expected one of {TASK_KINDS}")


def task_score(kind: str, num_outputs: int, outputs: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy for classification and binary tasks; R^2 (1 - MSE / variance) for regression.

    R^2 does not change when labels and predictions are rescaled together, so it compares runs
    with scaled and unscaled regression labels fairly. 1 is perfect, 0 is "always the mean".
    """
    outputs = outputs.detach().float()
    y = y.detach()
    if kind == "classification":
        return float((outputs[:, :num_outputs].argmax(dim=1) == y.long()).float().mean())
    if kind == "binary":
        return float(((outputs[:, 0] > 0).long() == y.round().long()).float().mean())
    if kind == "regression":
        y = y.float()
        residual = ((outputs[:, 0] - y) ** 2).sum()
        total = ((y - y.mean()) ** 2).sum().clamp_min(1e-12)
        return float(1.0 - residual / total)
    raise ValueError(f"unknown task kind {kind!r}; expected one of {TASK_KINDS}")


@dataclass
class Task:
    """One task: a name, a kind, and its own training and test data.

    Attributes:
        train_x, test_x: ``[N, 1, 28, 28]`` float32 images in [0, 1].
        train_y, test_y: ``[N]`` int64 classes, or float32 targets.
        num_outputs: classes for a classification task, 1 otherwise.
        label_shift, label_scale: regression labels were stored as ``(raw - shift) / scale``
            (shift 0, scale 1 when unscaled).
        source: what the task was built from (alphabet name, attribute, ...).
    """

    name: str
    kind: str
    num_outputs: int
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    label_shift: float = 0.0
    label_scale: float = 1.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f"task {self.name!r}: kind must be one of {TASK_KINDS}; got {self.kind!r}")
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
                raise ValueError(f"task {self.name!r}: {split}_x must be [N, 1, 28, 28]; got {tuple(x.shape)}")
            if y.shape != (x.shape[0],):
                raise ValueError(f"task {self.name!r}: {split}_y must be [{x.shape[0]}]; got {tuple(y.shape)}")
        if len(self.train_y) == 0:
            raise ValueError(f"task {self.name!r} has no training examples")

    @property
    def num_train(self) -> int:
        return int(self.train_y.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_y.shape[0])

    def to(self, device: torch.device | str) -> "Task":
        return Task(self.name, self.kind, self.num_outputs, self.train_x.to(device), self.train_y.to(device),
                    self.test_x.to(device), self.test_y.to(device), self.label_shift, self.label_scale,
                    self.source)


@dataclass
class TaskSet:
    """The tasks ``T_1 .. T_T`` trained together, with their one-hot descriptors ``z_i = e_i``."""

    tasks: list[Task]
    name: str = "tasks"

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("a TaskSet needs at least one task")
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be distinct; got {names}")

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, index: int) -> Task:
        return self.tasks[index]

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def num_outputs(self) -> int:
        """O: the widest task's output size (every model outputs ``[B, O]``)."""
        return max(t.num_outputs for t in self.tasks)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def sizes(self) -> list[int]:
        """Training-set size of every task (what a proportional sampler weighs by)."""
        return [t.num_train for t in self.tasks]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no task named {name!r}; tasks are {self.names}") from None

    def descriptors(self, task: int, count: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``[count, T]`` float32 rows all equal to the one-hot ``e_task``."""
        z = torch.zeros(count, self.num_tasks, device=device or self.tasks[task].train_x.device)
        z[:, task] = 1.0
        return z

    def batch(self, task: int, indices: torch.Tensor | Sequence[int] | None = None,
              split: str = "train") -> TaskBatch:
        """Examples ``indices`` (all when None) of ``task``'s ``split`` ("train" or "test")."""
        if not 0 <= task < self.num_tasks:
            raise IndexError(f"task index {task} out of range 0..{self.num_tasks - 1}")
        t = self.tasks[task]
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        x, y = (t.train_x, t.train_y) if split == "train" else (t.test_x, t.test_y)
        if indices is not None:
            idx = torch.as_tensor(indices, dtype=torch.long, device=x.device)
            if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= len(y)):
                raise IndexError(f"task {t.name!r} has {len(y)} {split} examples; got indices "
                                 f"{int(idx.min())}..{int(idx.max())}")
            x, y = x[idx], y[idx]
        return TaskBatch(task, x, self.descriptors(task, len(y), x.device), y, t.kind, t.num_outputs)

    def subset(self, names: Sequence[str], name: str | None = None) -> "TaskSet":
        """The named tasks, in that order (their indices, so their descriptors, change)."""
        return TaskSet([self.tasks[self.index(n)] for n in names], name or self.name)

    def __add__(self, other: "TaskSet") -> "TaskSet":
        return TaskSet(self.tasks + other.tasks, f"{self.name} + {other.name}")

    def to(self, device: torch.device | str) -> "TaskSet":
        return TaskSet([t.to(device) for t in self.tasks], self.name)

    def describe(self) -> str:
        """A text table: index, name, kind, outputs, train and test sizes."""
        width = max(6, *(len(t.name) for t in self.tasks)) + 1
        lines = [f"{self.name}: {self.num_tasks} tasks, outputs O = {self.num_outputs}",
                 f"{'i':>3}  {'task':<{width}} {'kind':<15} {'outputs':>7} {'train':>6} {'test':>6}"]
        for i, t in enumerate(self.tasks):
            lines.append(f"{i:>3}  {t.name:<{width}} {t.kind:<15} {t.num_outputs:>7} {t.num_train:>6} {t.num_test:>6}")
        return "\n".join(lines)


# ============================================================================ building tasks
def split_drawers(num_characters: int, drawers: int, train_drawers: int, test_drawers: int,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per character, ``train_drawers`` training and ``test_drawers`` test drawers, disjoint.

    Returns int64 ``[C, train_drawers]`` and ``[C, test_drawers]`` drawer indices (seeded).
    """
    if train_drawers < 1 or test_drawers < 1:
        raise ValueError(f"need at least one training and one test drawer; got {train_drawers}, {test_drawers}")
    if train_drawers + test_drawers > drawers:
        raise ValueError(f"{train_drawers} training + {test_drawers} test drawers = "
                         f"{train_drawers + test_drawers}, but each character has only {drawers}")
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((num_characters, drawers)), axis=1)
    return order[:, :train_drawers], order[:, train_drawers:train_drawers + test_drawers]


def _images(charset: CharacterSet, chars: np.ndarray, drawers: np.ndarray) -> torch.Tensor:
    """``[len(chars) * k, 1, 28, 28]`` float32 for drawers ``[len(chars), k]`` (character-major)."""
    picked = charset.images[chars[:, None], drawers]
    flat = picked.reshape(-1, 1, *charset.images.shape[-2:])
    return torch.from_numpy(flat.astype(np.float32) / 255.0)


def image_attribute(images: np.ndarray, attribute: str) -> np.ndarray:
    """An attribute computed from the images themselves (so it exists for every CharacterSet).

    ``images``: uint8 ``[..., 28, 28]``. ``ink``: total ink (sum of intensities in [0, 1], about the
    number of inked pixels); ``top_heavy``: 1 when the upper half holds more ink than the lower half;
    ``wide``: 1 when the inked bounding box is wider than it is tall. Returns float64 ``[...]``.
    """
    x = images.astype(np.float64) / 255.0
    if attribute == "ink":
        return x.sum(axis=(-2, -1))
    if attribute == "top_heavy":
        half = x.shape[-2] // 2
        return (x[..., :half, :].sum(axis=(-2, -1)) > x[..., half:, :].sum(axis=(-2, -1))).astype(np.float64)
    if attribute == "wide":
        ink = x > 0.3
        width, height = _extent(ink.any(axis=-2)), _extent(ink.any(axis=-1))
        return (width > height).astype(np.float64)
    raise ValueError(f"{attribute!r} is not an image attribute; choose from {IMAGE_ATTRIBUTES}")


def _extent(mask: np.ndarray) -> np.ndarray:
    """Last minus first True index along the last axis (-1 where there is none)."""
    size = mask.shape[-1]
    first = np.argmax(mask, axis=-1)
    last = size - 1 - np.argmax(mask[..., ::-1], axis=-1)
    return np.where(mask.any(axis=-1), last - first, -1)


def _attribute_values(charset: CharacterSet, attribute: str, chars: np.ndarray, drawers: np.ndarray) -> np.ndarray:
    """Raw attribute value of every picked image, ``[len(chars) * k]`` float64 (character-major)."""
    if attribute in IMAGE_ATTRIBUTES:
        return image_attribute(charset.images[chars[:, None], drawers], attribute).reshape(-1)
    missing = [int(c) for c in chars if attribute not in charset.manifest[int(c)]]
    if missing:
        keys = sorted(charset.manifest[missing[0]])
        raise ValueError(f"attribute {attribute!r} is not in the manifest of {charset.name} (character "
                         f"{missing[0]} has keys {keys}); glyph sets have strokes/has_curve/has_loop/has_dot, "
                         f"and {IMAGE_ATTRIBUTES} work for every CharacterSet")
    per_char = np.array([float(charset.manifest[int(c)][attribute]) for c in chars])
    return np.repeat(per_char, drawers.shape[1])


def _choose_alphabets(charset: CharacterSet, alphabets: Sequence[str] | int | None) -> list[str]:
    names = charset.alphabets
    if alphabets is None:
        return names
    if isinstance(alphabets, int):
        if not 1 <= alphabets <= len(names):
            raise ValueError(f"{charset.name} has {len(names)} alphabets; asked for {alphabets}")
        return names[:alphabets]
    unknown = [a for a in alphabets if a not in names]
    if unknown:
        raise ValueError(f"alphabets {unknown} are not in {charset.name} (it has {names})")
    return list(alphabets)


def build_taskset(charset: CharacterSet, *, alphabets: Sequence[str] | int | None = None,
                  train_drawers: int = 3, test_drawers: int = 5, recognise: bool = True,
                  questions: Sequence[str] = (), attributes: Sequence[str] = (), conflicting: int = 0,
                  scale_regression: bool = True, seed: int = 0, name: str | None = None) -> TaskSet:
    """The hw0 task collection built from ``charset``, in this order:

    1. ``recognise``: one classification task per alphabet, "which character of alphabet A is
       this?" (named after the alphabet);
    2. ``questions``: for every alphabet and every attribute q, the task "A: q" asking q of that
       alphabet's characters only (the same question in every alphabet: p_i(y|x) shared, p_i(x) not);
    3. ``attributes``: one task per attribute over the images of all chosen alphabets (multi-label
       learning on the same images);
    4. ``conflicting``: conflicting twins (:func:`conflicting_task`) of the first ``conflicting``
       tasks above.

    Attributes: ``strokes`` (regression), ``has_curve``, ``has_loop``, ``has_dot`` (binary) from a
    glyph manifest; ``ink`` (regression), ``top_heavy``, ``wide`` (binary) from the images.

    Args:
        alphabets: which alphabets (names, the first N, or all).
        train_drawers, test_drawers: drawings per character in each task's training / test set; every
            task built on a character uses the same drawers, so tasks share images.
        scale_regression: standardise regression labels with the training mean and standard
            deviation (False keeps raw units: ink is ~100 pixels, strokes 1..6).
        seed: drawer split and conflicting permutations.
    """
    chosen = _choose_alphabets(charset, alphabets)
    known = BINARY_ATTRIBUTES + REGRESSION_ATTRIBUTES
    bad = [a for a in (*attributes, *questions) if a not in known]
    if bad:
        raise ValueError(f"unknown attributes {bad}; choose from {known}")
    train_d, test_d = split_drawers(charset.num_characters, charset.num_drawers, train_drawers, test_drawers, seed)
    alphabet_of = np.array([e["alphabet"] for e in charset.manifest])
    chars_of = {a: np.flatnonzero(alphabet_of == a) for a in chosen}

    tasks: list[Task] = []
    if recognise:
        for alphabet in chosen:
            chars = chars_of[alphabet]
            labels = np.arange(len(chars))
            tasks.append(Task(
                name=alphabet, kind="classification", num_outputs=len(chars),
                train_x=_images(charset, chars, train_d[chars]),
                train_y=torch.from_numpy(np.repeat(labels, train_drawers)).long(),
                test_x=_images(charset, chars, test_d[chars]),
                test_y=torch.from_numpy(np.repeat(labels, test_drawers)).long(),
                source=f"characters of {alphabet}",
            ))
    for question in questions:
        for alphabet in chosen:
            chars = chars_of[alphabet]
            task = attribute_task(charset, question, chars, train_d[chars], test_d[chars], scale_regression)
            task.name, task.source = f"{alphabet}: {task.name}", f"{question} of {alphabet}"
            tasks.append(task)
    pooled = np.concatenate([chars_of[a] for a in chosen])
    for attribute in attributes:
        tasks.append(attribute_task(charset, attribute, pooled, train_d[pooled], test_d[pooled], scale_regression))
    if conflicting > len(tasks):
        raise ValueError(f"asked for {conflicting} conflicting tasks but only {len(tasks)} tasks were built")
    tasks += [conflicting_task(t, seed=seed + 1000 + k) for k, t in enumerate(tasks[:conflicting])]
    return TaskSet(tasks, name or f"{charset.name}: {len(chosen)} alphabets")


def attribute_task(charset: CharacterSet, attribute: str, chars: np.ndarray, train_drawers: np.ndarray,
                   test_drawers: np.ndarray, scale_regression: bool = True) -> Task:
    """A binary or regression task on the images of ``chars`` (drawers ``[len(chars), k]``)."""
    kind = "binary" if attribute in BINARY_ATTRIBUTES else "regression"
    train_raw = _attribute_values(charset, attribute, chars, train_drawers)
    test_raw = _attribute_values(charset, attribute, chars, test_drawers)
    shift, scale = 0.0, 1.0
    if kind == "regression" and scale_regression:
        shift, scale = float(train_raw.mean()), float(train_raw.std() or 1.0)
    label = f"{attribute}" + ("" if kind == "binary" or scale_regression else " (unscaled)")
    return Task(
        name=label, kind=kind, num_outputs=1,
        train_x=_images(charset, chars, train_drawers),
        train_y=torch.from_numpy((train_raw - shift) / scale).float(),
        test_x=_images(charset, chars, test_drawers),
        test_y=torch.from_numpy((test_raw - shift) / scale).float(),
        label_shift=shift, label_scale=scale, source=f"attribute {attribute}",
    )


def conflicting_task(task: Task, seed: int = 0, name: str | None = None) -> Task:
    """A twin of ``task`` built to conflict with it: the same images with their labels permuted
    across the images (seeded), in the training and the test set alike.

    The labels keep their values and frequencies but no longer depend on the image, so nothing
    learned for the real task helps this one: a shared network can only memorise it, and each
    step it takes on it pushes the shared parameters in a direction that has nothing to do with
    (and often opposes) the real tasks. Its test score is chance by construction.
    """
    gen = torch.Generator().manual_seed(int(seed))
    train_perm = torch.randperm(task.num_train, generator=gen)
    test_perm = torch.randperm(task.num_test, generator=gen)
    return Task(name or f"{task.name} (permuted)", task.kind, task.num_outputs, task.train_x,
                task.train_y[train_perm], task.test_x, task.test_y[test_perm], task.label_shift,
                task.label_scale, source=f"{task.name} with labels permuted across images")


def taskset_from_arrays(tasks: Sequence[Mapping[str, Any]], name: str = "tasks") -> TaskSet:
    """A TaskSet from plain data (what a grader sends a worker).

    Each entry: ``name``, ``kind``, ``num_outputs``, ``train_x`` uint8 or float ``[N, 1, 28, 28]``
    (uint8 is divided by 255), ``train_y``, ``test_x``, ``test_y``.
    """
    built = []
    for entry in tasks:
        def images(a):
            t = torch.as_tensor(np.asarray(a))
            return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()

        kind = entry["kind"]
        ytype = torch.long if kind == "classification" else torch.float32
        built.append(Task(entry["name"], kind, int(entry["num_outputs"]), images(entry["train_x"]),
                          torch.as_tensor(np.asarray(entry["train_y"])).to(ytype), images(entry["test_x"]),
                          torch.as_tensor(np.asarray(entry["test_y"])).to(ytype)))
    return TaskSet(built, name)


def taskset_to_arrays(taskset: TaskSet) -> list[dict[str, Any]]:
    """The inverse of :func:`taskset_from_arrays` (images as uint8, to send them small)."""
    out = []
    for t in taskset.tasks:
        out.append({"name": t.name, "kind": t.kind, "num_outputs": t.num_outputs,
                    "train_x": (t.train_x * 255).round().to(torch.uint8).cpu().numpy(),
                    "train_y": t.train_y.cpu().numpy(),
                    "test_x": (t.test_x * 255).round().to(torch.uint8).cpu().numpy(),
                    "test_y": t.test_y.cpu().numpy()})
    return out


# ============================================================================ datasets
def glyph_tasks(num_alphabets: int = 10, characters_per_alphabet: int = 20, glyph_seed: int = 0,
                **options: Any) -> TaskSet:
    """:func:`build_taskset` on glyph alphabets from the kit's generator (the default data);
    ``options`` go to :func:`build_taskset` (``train_drawers``, ``questions``, ``conflicting``, ...)."""
    from metakit.data.glyphs import load_glyphs

    charset = load_glyphs(num_alphabets=num_alphabets, characters_per_alphabet=characters_per_alphabet,
                          drawers=20, seed=glyph_seed)
    options.setdefault("name", f"glyphs: {len(charset.alphabets)} alphabets")
    return build_taskset(charset, **options)


def load_omniglot_alphabets(folder: Any = None) -> CharacterSet:
    """Real Omniglot alphabets, each character once, sorted by (alphabet, character).

    ``folder`` goes to :func:`metakit.data.source.resolve` (None: ``"omniglot"``, wherever it is;
    an error naming where it belongs when there is none). The two official minimal background
    splits (``images_background_small1.zip`` and ``..._small2.zip``) share Latin and Greek;
    joined with :func:`metakit.data.splits.union` they hold 8 alphabets (242 characters). The
    full background set holds 30 (964 characters).
    """
    from metakit.data.source import MINIMAL, load_characters, resolve

    source = resolve("omniglot" if folder is None else folder)
    pool = load_characters(source).pool
    order = sorted(range(pool.num_characters),
                   key=lambda i: (pool.manifest[i]["alphabet"], pool.manifest[i]["character"]))
    return pool.subset(order, name="omniglot (minimal splits)" if source.kind == MINIMAL else pool.name)


def load_alphabets(source: Any = "auto", glyph_seed: int = 1) -> CharacterSet:
    """hw0's second set of alphabets: real Omniglot when :func:`metakit.data.source.resolve` finds
    it (:func:`load_omniglot_alphabets`), else 10 glyph alphabets drawn with ``glyph_seed`` (other
    alphabets than :func:`glyph_tasks`' seed 0), so the notebook runs with no Omniglot file."""
    from metakit.data.glyphs import load_glyphs
    from metakit.data.source import resolve

    resolved = resolve(source)
    if resolved.is_omniglot:
        return load_omniglot_alphabets(resolved)
    return load_glyphs(num_alphabets=10, characters_per_alphabet=20, drawers=20, seed=glyph_seed)


def omniglot_tasks(folder: Any = None, **options: Any) -> TaskSet:
    """:func:`build_taskset` on the real Omniglot alphabets of :func:`load_omniglot_alphabets`;
    ``options`` go to :func:`build_taskset` (``alphabets``, ``train_drawers``, ``questions``, ...)."""
    charset = load_omniglot_alphabets(folder)
    options.setdefault("name", f"omniglot: {len(charset.alphabets)} alphabets")
    return build_taskset(charset, **options)


# ============================================================================ models given by the kit
class MultiTaskNet(nn.Module):
    """What every multi-task model in hw0 is: ``forward(x [B, 1, 28, 28], z [B, T]) -> [B, O]``.

    Subclasses say which of their parameters are *shared*, ``theta_sh`` in the lecture's split
    ``theta = (theta_sh, theta_1, ..., theta_T)``: :meth:`shared_parameters` returns them; every other
    parameter belongs to the task machinery (a task's own network or head, or the layer that reads z).
    """

    def shared_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError(f"{type(self).__name__} must say which parameters are shared")


def mlp(input_dim: int, hidden: int, output_dim: int) -> nn.Sequential:
    """``input -> hidden -> hidden -> output`` with ReLUs: the single-task network of the baselines."""
    return nn.Sequential(nn.Flatten(), nn.Linear(input_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, output_dim))


class ProbeNet(MultiTaskNet):
    """A fixed tiny multi-task model for checking gradient code (public checks and graders).

    A shared ``tanh`` layer ``784 -> width`` (its two parameters are :meth:`shared_parameters`)
    followed by a bias-free output matrix per task; task ``i`` uses matrix ``i`` (chosen by the
    argmax of its z). Seeded, so the same arguments build the same weights everywhere. With
    ``shared=False`` it claims to share nothing (``shared_parameters()`` is empty). With
    ``task0_shift=True`` a third shared parameter ``shift`` ``[width]`` is added to the hidden
    layer of task 0's rows only: a batch without task 0 never reaches it (its gradient is None
    from ``torch.autograd.grad(..., allow_unused=True)``, mathematically zero).
    """

    def __init__(self, num_tasks: int, num_outputs: int, width: int = 8, seed: int = 0, shared: bool = True,
                 task0_shift: bool = False) -> None:
        super().__init__()
        self.claims_shared = shared
        gen = torch.Generator().manual_seed(int(seed))
        self.shared = nn.Linear(784, width)
        self.task_weights = nn.Parameter(torch.randn(num_tasks, width, num_outputs, generator=gen) / width ** 0.5)
        with torch.no_grad():
            self.shared.weight.copy_(torch.randn(width, 784, generator=gen) / 784 ** 0.5 * 3)
            self.shared.bias.copy_(torch.randn(width, generator=gen))
        self.shift = nn.Parameter(torch.randn(width, generator=gen)) if task0_shift else None

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        tasks = z.argmax(dim=1)                               # [B]
        h = torch.tanh(self.shared(x.reshape(x.shape[0], -1)))
        if self.shift is not None and bool((tasks == 0).any()):
            h = h + (tasks == 0).unsqueeze(1).to(h.dtype) * self.shift
        weights = self.task_weights[tasks]                    # [B, width, O]
        return torch.einsum("bw,bwo->bo", h, weights)

    def shared_parameters(self) -> list[nn.Parameter]:
        if not self.claims_shared:
            return []
        return [self.shared.weight, self.shared.bias] + ([self.shift] if self.shift is not None else [])


# ============================================================================ training
@dataclass
class TrainResult:
    """What a training run leaves: final per-task test scores, curves and timing."""

    scores: dict[str, float]
    curves: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    label: str = ""

    def mean(self, names: Sequence[str] | None = None) -> float:
        """Mean test score over ``names`` (all tasks when None)."""
        keys = list(names) if names is not None else list(self.scores)
        return float(np.mean([self.scores[k] for k in keys]))

    def summary(self, what: str) -> str:
        """One line a run prints at its end (its progress bar vanishes; a saved notebook keeps this)."""
        mean = f", mean test score {self.mean():.3f}" if self.scores else ""
        return f"{self.label or 'multi-task training'}: {what} in {self.seconds:.0f} s{mean}"


@torch.no_grad()
def evaluate(model: nn.Module, taskset: TaskSet, split: str = "test", batch_size: int = 512) -> dict[str, float]:
    """Every task's score (accuracy, or R^2 for regression) on its ``split``, in eval mode."""
    was_training = model.training
    model.eval()
    scores = {}
    for i, task in enumerate(taskset.tasks):
        batch = taskset.batch(i, split=split)
        outputs = torch.cat([model(batch.x[s:s + batch_size], batch.z[s:s + batch_size])
                             for s in range(0, len(batch), batch_size)])
        scores[task.name] = task_score(task.kind, task.num_outputs, outputs, batch.y)
    model.train(was_training)
    return scores


def _check_sample(task_ids: Any, example_ids: Any, sizes: Sequence[int], num_tasks: int) -> None:
    """Clear errors for a sampler that returns the wrong thing (the loop would fail obscurely)."""
    if not torch.is_tensor(task_ids) or task_ids.shape != (num_tasks,):
        raise ValueError(f"sample_task_batch should return task ids as a LongTensor [{num_tasks}]; got "
                         f"{type(task_ids).__name__} {tuple(getattr(task_ids, 'shape', ()))}")
    if len(example_ids) != num_tasks:
        raise ValueError(f"sample_task_batch should return one index tensor per sampled task "
                         f"({num_tasks}); got {len(example_ids)}")
    for t, idx in zip(task_ids.tolist(), example_ids):
        if not 0 <= t < len(sizes):
            raise ValueError(f"sample_task_batch returned task id {t}, outside 0..{len(sizes) - 1}")
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= sizes[t]):
            raise ValueError(f"sample_task_batch returned example ids {int(idx.min())}..{int(idx.max())} "
                             f"for task {t}, which has {sizes[t]} examples")


def train_multitask(model: nn.Module, taskset: TaskSet, sample_task_batch: Sampler, multitask_loss: LossFn, *,
                    steps: int = 500, tasks_per_batch: int = 4, batch_size: int = 16,
                    proportional: bool = False, weights: Sequence[float] | None = None, lr: float = 1e-3,
                    weight_decay: float = 0.0, seed: int = 0, eval_every: int | None = None,
                    device: torch.device | str | None = None, progress: bool = True, label: str = "") -> TrainResult:
    """The lecture's recipe, ``steps`` times: sample a mini-batch of tasks, then a mini-batch of data
    for each; compute each task's loss; combine them with the weights; backpropagate; Adam step.

    Args:
        model: ``model(x [B, 1, 28, 28], z [B, T]) -> [B, O]`` (moved to ``device``).
        sample_task_batch: ``(sizes, tasks_per_batch, batch_size, generator, proportional=...)
            -> (task_ids [K], [example ids of each sampled task])``.
        multitask_loss: ``(per_task_losses [K], weights [K]) -> scalar``; it gets the weights of the
            sampled tasks (``weights`` is per task, ones when None).
        eval_every: record every task's test score this often (curves); the end is always recorded.
        device: where the model and the data live; default :func:`metakit.device` (CUDA, then MPS,
            then the CPU; ``$METAKIT_DEVICE`` overrides it).
    Returns:
        :class:`TrainResult` with the final per-task test scores.
    """
    device = resolve_device(device)
    model.to(device)
    data = taskset.to(device)
    sizes = data.sizes()
    w = torch.ones(data.num_tasks) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
    if w.shape != (data.num_tasks,):
        raise ValueError(f"weights should have one entry per task ({data.num_tasks}); got {tuple(w.shape)}")
    w = w.to(device)
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    result = TrainResult(scores={}, label=label)
    curve_steps: list[int] = []
    curve_values: dict[str, list[float]] = {n: [] for n in data.names}
    start = time.perf_counter()
    bar = tqdm(range(1, steps + 1), desc=label or "multi-task training", disable=not progress, leave=False)
    model.train()
    for step in bar:
        task_ids, example_ids = sample_task_batch(sizes, tasks_per_batch, batch_size, generator,
                                                  proportional=proportional)
        _check_sample(task_ids, example_ids, sizes, tasks_per_batch)
        batches = [data.batch(int(t), idx) for t, idx in zip(task_ids.tolist(), example_ids)]
        outputs = model(torch.cat([b.x for b in batches]), torch.cat([b.z for b in batches]))
        pieces = outputs.split([len(b) for b in batches])
        per_task = torch.stack([b.loss(o) for b, o in zip(batches, pieces)])
        loss = multitask_loss(per_task, w[task_ids.to(device)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        result.losses.append(float(loss.detach()))
        if (eval_every and step % eval_every == 0) or step == steps:
            scores = evaluate(model, data)
            curve_steps.append(step)
            for n in data.names:
                curve_values[n].append(scores[n])
            bar.set_postfix(mean_score=f"{np.mean(list(scores.values())):.3f}")
    result.scores = {n: curve_values[n][-1] for n in data.names} if steps else evaluate(model, data)
    result.curves = {n: (list(curve_steps), curve_values[n]) for n in data.names}
    result.seconds = time.perf_counter() - start
    if progress:
        bar.close()
        print(result.summary(f"{steps} steps"))   # the bar vanishes (leave=False); this line stays
    return result


def train_independent(taskset: TaskSet, *, steps_per_task: int = 200, batch_size: int = 16, hidden: int = 128,
                      lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0, eval_every: int | None = None,
                      device: torch.device | str | None = None, progress: bool = True,
                      label: str = "independent networks") -> TrainResult:
    """The baseline: one separate network (:func:`mlp`, ``784 -> hidden -> hidden -> outputs``) per
    task, each trained on its own data only for ``steps_per_task`` Adam steps of ``batch_size``.

    To give each task as many updates as in a multi-task run of S steps with K tasks a step, use
    ``steps_per_task = S * K // T``. ``device``: default :func:`metakit.device`.
    """
    device = resolve_device(device)
    data = taskset.to(device)
    result = TrainResult(scores={}, label=label)
    start = time.perf_counter()
    for i, task in enumerate(tqdm(data.tasks, desc=label, disable=not progress, leave=False)):
        torch.manual_seed(seed * 1000 + i)
        net = mlp(784, hidden, task.num_outputs).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
        gen = torch.Generator().manual_seed(seed * 1000 + i)
        steps_seen, values = [], []
        for step in range(1, steps_per_task + 1):
            idx = torch.randperm(task.num_train, generator=gen)[:batch_size].to(device)
            loss = task_loss(task.kind, task.num_outputs, net(task.train_x[idx]), task.train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if (eval_every and step % eval_every == 0) or step == steps_per_task:
                net.eval()
                with torch.no_grad():
                    values.append(task_score(task.kind, task.num_outputs, net(task.test_x), task.test_y))
                net.train()
                steps_seen.append(step)
        result.scores[task.name] = values[-1]
        result.curves[task.name] = (steps_seen, values)
    result.seconds = time.perf_counter() - start
    if progress:
        print(result.summary(f"{steps_per_task} steps per task"))
    return result


# ============================================================================ reporting
def score_table(results: Mapping[str, TrainResult | Mapping[str, float]], baseline: str | None = None,
                tasks: Sequence[str] | None = None) -> str:
    """Per-task test scores of several runs as a text table, with the mean over ``tasks`` and,
    when ``baseline`` names one of the runs, each run's mean difference from it (transfer)."""
    scores = {label: (r.scores if isinstance(r, TrainResult) else dict(r)) for label, r in results.items()}
    names = list(tasks) if tasks is not None else list(next(iter(scores.values())))
    width = max(12, *(len(n) for n in names), len(f"vs {baseline}") if baseline else 0) + 2
    header = f"{'task':<{width}}" + "".join(f"{label[:15]:>16}" for label in scores)
    lines = [header, "-" * len(header)]
    for n in names:
        lines.append(f"{n:<{width}}" + "".join(f"{s.get(n, float('nan')):>16.3f}" for s in scores.values()))
    lines.append("-" * len(header))
    means = {label: float(np.mean([s[n] for n in names])) for label, s in scores.items()}
    lines.append(f"{'mean':<{width}}" + "".join(f"{m:>16.3f}" for m in means.values()))
    if baseline is not None:
        if baseline not in means:
            raise KeyError(f"baseline {baseline!r} is not one of the runs {list(means)}")
        lines.append(f"{'vs ' + baseline:<{width}}"
                     + "".join(f"{m - means[baseline]:>+16.3f}" for m in means.values()))
    return "\n".join(lines)


def transfer(results: Mapping[str, TrainResult], baseline: str, tasks: Sequence[str] | None = None) -> dict[str, float]:
    """Mean test score of each run minus the baseline's, over ``tasks`` (positive: positive transfer)."""
    base = results[baseline].mean(tasks)
    return {label: r.mean(tasks) - base for label, r in results.items()}


def plot_task_scores(results: Mapping[str, TrainResult | Mapping[str, float]], tasks: Sequence[str] | None = None,
                     title: str | None = None, ylabel: str = "test accuracy (R^2 for regression)") -> plt.Figure:
    """Grouped bars: one group per task (plus the mean), one bar per run."""
    scores = {label: (r.scores if isinstance(r, TrainResult) else dict(r)) for label, r in results.items()}
    names = list(tasks) if tasks is not None else list(next(iter(scores.values())))
    suffixes = {n.split(": ", 1)[1] for n in names if ": " in n}
    common = suffixes.pop() if len(suffixes) == 1 and all(": " in n for n in names) else None
    labels = [n.split(": ", 1)[0] if common else n for n in names] + ["mean"]
    fig, ax = plt.subplots(figsize=(max(6.5, 0.75 * len(labels) + 3), 4))
    width = 0.8 / max(1, len(scores))
    xs = np.arange(len(labels))
    for k, (label, s) in enumerate(scores.items()):
        values = [s.get(n, np.nan) for n in names]
        values.append(float(np.nanmean(values)))
        ax.bar(xs + (k - (len(scores) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    every = [v for s in scores.values() for v in s.values() if np.isfinite(v)]
    ax.set_ylim(min(0.0, min(every, default=0.0)), max(1.0, max(every, default=1.0)))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set_xlabel(f"task: {common} of each alphabet" if common else "task", fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_mean_curves(results: Mapping[str, TrainResult], tasks: Sequence[str] | None = None,
                     title: str | None = None) -> plt.Figure:
    """Mean test score over ``tasks`` against training step, one line per run."""
    from metakit.plot import learning_curves

    curves = {}
    for label, r in results.items():
        names = list(tasks) if tasks is not None else list(r.curves)
        steps = r.curves[names[0]][0]
        curves[label] = (steps, list(np.mean([r.curves[n][1] for n in names], axis=0)))
    return learning_curves(curves, ylabel="mean test score", title=title)


def plot_task_examples(taskset: TaskSet, tasks: Sequence[str] | None = None, per_task: int = 8,
                       seed: int = 0) -> plt.Figure:
    """A row of training images per task, each titled with its label (regression labels rounded)."""
    import textwrap

    names = list(tasks) if tasks is not None else taskset.names
    fig, axes = plt.subplots(len(names), per_task, figsize=(1.0 * per_task + 1.8, 1.05 * len(names) + 0.7),
                             squeeze=False)
    gen = torch.Generator().manual_seed(seed)
    for row, name in enumerate(names):
        task = taskset[taskset.index(name)]
        picks = torch.randperm(task.num_train, generator=gen)[:per_task]
        for col in range(per_task):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(picks):
                ax.axis("off")
                continue
            i = int(picks[col])
            ax.imshow(task.train_x[i, 0].cpu().numpy(), cmap="gray_r", vmin=0, vmax=1)
            y = task.train_y[i]
            label = f"{int(y)}" if task.kind != "regression" else f"{float(y) * task.label_scale + task.label_shift:.0f}"
            ax.set_title(label, fontsize=7, pad=2)
            if col == 0:  # the whole name, on as many lines as it needs
                ax.set_ylabel(textwrap.fill(name, 18, break_long_words=False, break_on_hyphens=False),
                              fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("training images of each task, each titled with its label", fontsize=10)
    fig.tight_layout()
    return fig
