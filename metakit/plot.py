"""Plots a person would rather look at than read: episodes and learning curves."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt

from metakit.episodes import Episodes


def episode_grid(episodes: Episodes, index: int = 0, title: str | None = None) -> plt.Figure:
    """One episode as a grid: a row per way, support images then query images (query framed).

    ``episodes.support`` is ``[B, N, K, H, W]`` and ``episodes.query`` ``[B, N, Q, H, W]``.
    """
    support = episodes.support[index].detach().cpu().numpy()
    query = episodes.query[index].detach().cpu().numpy()
    ways, shots, queries = support.shape[0], support.shape[1], query.shape[1]
    columns = shots + queries
    fig, axes = plt.subplots(ways, columns, figsize=(1.1 * columns + 0.6, 1.1 * ways + 0.6), squeeze=False)
    for way in range(ways):
        for col in range(columns):
            ax = axes[way, col]
            image = support[way, col] if col < shots else query[way, col - shots]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= shots:
                for spine in ax.spines.values():
                    spine.set_color("tab:orange")
                    spine.set_linewidth(2)
            if col == 0:
                ax.set_ylabel(f"label {way}", fontsize=8)
            if way == 0:
                ax.set_title("support" if col < shots else "query", fontsize=8)
    fig.suptitle(title or f"{ways}-way {shots}-shot episode, {queries} queries per class")
    fig.tight_layout()
    return fig


def learning_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], ylabel: str = "query accuracy",
                    xlabel: str = "step", title: str | None = None, chance: float | None = None) -> plt.Figure:
    """Several runs in one figure: ``{"label": (steps, values)}``; a dashed line at ``chance``."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label)
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    return _finish(fig, ax, xlabel, ylabel, title)


def accuracy_with_ci(xs: Sequence[float], series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                     xlabel: str, ylabel: str = "accuracy", title: str | None = None,
                     logx: bool = False) -> plt.Figure:
    """Mean accuracy with 95% confidence bars: ``{"label": (means, ci_halfwidths)}`` over ``xs``."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (means, cis) in series.items():
        ax.errorbar(xs, means, yerr=cis, marker="o", capsize=3, label=label)
    if logx:
        ax.set_xscale("log")
    return _finish(fig, ax, xlabel, ylabel, title)


def _finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> plt.Figure:
    """Labels, a light grid, the legend and the title: what every line plot here ends with."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
