"""hw0's tasks: one task's data (:class:`Task`), a set of tasks (:class:`TaskSet`), a batch drawn
from one task (:class:`TaskBatch`) and each kind's loss and score.

Shapes: images ``x [B, 1, 28, 28]`` float32 in [0, 1]; outputs ``[B, O]`` where ``O`` is the
largest output size of any task; task ``i`` reads its first ``tasks[i].num_outputs`` columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

TASK_KINDS = ("classification", "binary", "regression")


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
