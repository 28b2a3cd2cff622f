"""Small statistics used by every assignment's experiments."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% confidence interval (normal approximation, 1.96 * s / sqrt(n)).

    The usual few-shot protocol: report accuracy over many test episodes as ``mean +- ci``.
    """
    array = np.asarray(list(values), dtype=np.float64)
    if array.size == 0:
        raise ValueError("mean_ci95 needs at least one value")
    if array.size == 1:
        return float(array[0]), float("nan")
    return float(array.mean()), float(1.96 * array.std(ddof=1) / math.sqrt(array.size))


def format_ci(values: Iterable[float], percent: bool = True) -> str:
    """``"97.1% +- 0.4"`` for a list of per-episode accuracies."""
    mean, ci = mean_ci95(values)
    scale = 100.0 if percent else 1.0
    unit = "%" if percent else ""
    return f"{mean * scale:.1f}{unit} +- {ci * scale:.1f}"
