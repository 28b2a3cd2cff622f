"""What the training loops of every assignment share: the learning-rate schedule and the loss check.

Each wing keeps its own loop and its own record of a run (hw0 :class:`metakit.multitask.TrainResult`,
hw1 :class:`metakit.blackbox.TrainResult`, hw2 :class:`metakit.fewshot.History`); the pieces that are
the same concept in all of them live here, once.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def cosine_schedule(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Decay every group's learning rate from its initial value to 0 along a half cosine over
    ``steps >= 1`` calls of ``scheduler.step()`` (then it stays at 0).

    The closed form ``lr_t = lr_0 * (1 + cos(pi * min(t, steps) / steps)) / 2``, so the rate at step
    ``t`` never depends on rounding carried over from earlier steps (torch's ``CosineAnnealingLR``
    updates it recursively; the two agree to about 1e-18, far below float32's resolution)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + np.cos(np.pi * min(step, steps) / max(1, steps))))


def check_finite_loss(loss: torch.Tensor | float, step: int, lr: float) -> None:
    """Raise a FloatingPointError that names the step and suggests a smaller rate when ``loss`` is
    NaN or infinite (training on would only spread the NaNs through the weights)."""
    value = float(loss.detach()) if torch.is_tensor(loss) else float(loss)
    if not math.isfinite(value):
        raise FloatingPointError(f"the training loss became {value} at step {step}; "
                                 f"try a smaller learning rate (lr={lr:g})")
