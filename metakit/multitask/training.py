"""hw0's training: the multi-task loop (:func:`train_multitask`) that takes the student's model,
task sampler and multi-task loss as arguments, the independent single-task baselines
(:func:`train_independent`), evaluation and the result of a run (:class:`TrainResult`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from metakit.device import resolve as resolve_device
from metakit.multitask.models import mlp
from metakit.multitask.tasks import TaskSet, task_loss, task_score

Sampler = Callable[..., tuple[torch.Tensor, list[torch.Tensor]]]
LossFn = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


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
