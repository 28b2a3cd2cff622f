"""Reporting hw0's runs: a score table, transfer against a baseline and plots of scores, curves and
example images per task.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from metakit.multitask.tasks import TaskSet
from metakit.multitask.training import TrainResult


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
