"""What the training loops of every assignment share: the record of a run, its vocabulary, the
learning-rate schedule and the loss check.

One vocabulary in every loop: a run takes ``steps`` optimiser steps (one meta-batch each), logs
training figures every ``log_every`` steps and evaluates every ``eval_every`` steps on
``eval_episodes`` held-out episodes. Every loop takes its episodes as samplers (a training one and
a held-out one) and its settings as one small frozen config, a :class:`LoopConfig` (hw1's
:class:`metakit.blackbox.BlackboxConfig`, hw2's :class:`metakit.fewshot.ProtoNetConfig` and
:class:`metakit.fewshot.MAMLConfig`), whose fields may also be given as keywords. Its record is a
:class:`History` (hw1's ``train_blackbox``, hw2's ``train_protonet`` and ``train_maml``). hw0's loops leave a per-task score table instead
(:class:`metakit.multitask.TrainResult`: each independent network has its own steps), so that one
is not a history.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np
import torch


@dataclass
class History:
    """The record of one training run.

    ``train[metric]`` holds one value per entry of ``train_steps`` (what the loop logged while
    training: ``loss``, ``query_accuracy``, ``support_accuracy``); ``evaluation[metric]`` one per
    entry of ``eval_steps`` (held-out or validation episodes: ``query_accuracy``, ``loss``).
    ``steps``: the training steps run; ``seconds``: their wall time; ``settings``: the loop's
    arguments, kept with the curves.
    """

    name: str
    train_steps: list[int] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    eval_steps: list[int] = field(default_factory=list)
    evaluation: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def log_train(self, step: int, **metrics: float) -> None:
        """Record the training figures of ``step``."""
        self.train_steps.append(step)
        for metric, value in metrics.items():
            self.train.setdefault(metric, []).append(float(value))

    def log_eval(self, step: int, **metrics: float) -> None:
        """Record an evaluation made after ``step``."""
        self.eval_steps.append(step)
        for metric, value in metrics.items():
            self.evaluation.setdefault(metric, []).append(float(value))

    def curve(self, metric: str = "query_accuracy", split: str = "eval") -> tuple[list[int], list[float]]:
        """``(steps, values)`` of one metric, for :func:`metakit.plot.learning_curves`; ``split`` is
        ``"eval"`` (the evaluations) or ``"train"`` (the training log)."""
        if split not in ("eval", "train"):
            raise ValueError(f"split is 'eval' or 'train'; got {split!r}")
        steps, metrics = (self.eval_steps, self.evaluation) if split == "eval" else (self.train_steps, self.train)
        if metric not in metrics:
            raise KeyError(f"{self.name} recorded no {split} metric {metric!r}; it has {sorted(metrics) or 'none'}")
        return steps, metrics[metric]

    def last(self, metric: str = "query_accuracy", split: str = "eval") -> float:
        """The metric's last value (NaN when none was recorded)."""
        metrics = self.evaluation if split == "eval" else self.train
        values = metrics.get(metric, [])
        return values[-1] if values else float("nan")

    @property
    def final_accuracy(self) -> float:
        """The last evaluation's query accuracy (NaN without one)."""
        return self.last("query_accuracy")

    @property
    def seconds_per_step(self) -> float:
        """Wall time of one training step."""
        return self.seconds / max(1, self.steps)

    def summary(self) -> str:
        """One line: steps, time, last training loss and evaluation accuracy (the line a run prints
        when its progress bar closes, so a saved notebook keeps it)."""
        loss = f", training loss {self.last('loss', 'train'):.3f}" if self.train.get("loss") else ""
        accuracy = (f", held-out query accuracy {100 * self.final_accuracy:.1f}%"
                    if self.evaluation.get("query_accuracy") else "")
        return f"{self.name}: {self.steps} steps in {self.seconds:.0f} s{loss}{accuracy}"

    def plot(self, title: str | None = None) -> "matplotlib.figure.Figure":
        """Training loss and accuracies (left), held-out query accuracy (right)."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
        left.plot(self.train_steps, self.train.get("loss", []), color="tab:red", label="training loss")
        left.set_xlabel("step")
        left.set_ylabel("loss")
        acc = left.twinx()
        for metric, color, label in (("support_accuracy", "tab:blue", "support acc"),
                                     ("query_accuracy", "tab:green", "query acc")):
            if metric in self.train:
                acc.plot(self.train_steps, self.train[metric], color=color, alpha=0.6, label=label)
        acc.set_ylabel("accuracy")
        acc.set_ylim(0, 1.02)
        lines = left.get_lines() + acc.get_lines()  # one legend above the panel, off the curves
        acc.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="lower left",
                   bbox_to_anchor=(0.0, 1.01), ncols=len(lines), borderaxespad=0.0, frameon=False)
        right.plot(self.eval_steps, self.evaluation.get("query_accuracy", []), marker="o", color="tab:green")
        right.set_xlabel("step")
        right.set_ylabel("held-out query accuracy")
        right.grid(alpha=0.3)
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps: no tick at 2.5
        fig.suptitle(title or self.name)
        fig.tight_layout()
        return fig


Config = TypeVar("Config", bound="LoopConfig")


@dataclass(frozen=True)
class LoopConfig:
    """The settings every meta-training loop shares; each loop's config adds its own.

    steps: optimiser steps, each on ``meta_batch`` episodes. eval_every, eval_episodes: evaluate
    every ``eval_every`` steps (and at the last) on the same ``eval_episodes`` held-out episodes.
    cosine: decay the learning rate to 0 along a half cosine over the ``steps``
    (:func:`cosine_schedule`; False: constant).
    """

    steps: int = 1000
    meta_batch: int = 16
    eval_every: int = 100
    eval_episodes: int = 64
    cosine: bool = False

    def with_settings(self: Config, where: str = "this loop", **settings: Any) -> Config:
        """A copy with ``settings`` changed (the config itself never changes); a TypeError that
        names the unknown ones and lists the fields."""
        names = [f.name for f in fields(self)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise TypeError(f"{where} has no setting {', '.join(map(repr, unknown))}; "
                            f"its settings are {', '.join(names)}")
        return replace(self, **settings)

    @classmethod
    def of(cls: type[Config], config: "LoopConfig | None", settings: dict[str, Any], where: str) -> Config:
        """The run's config: ``config`` (default: this class's defaults) with ``settings`` over it.

        A config of another loop's class is refused, so that its defaults are never mistaken for
        this loop's."""
        if config is not None and not isinstance(config, cls):
            raise TypeError(f"{where} takes a {cls.__name__}; got a {type(config).__name__}")
        return (config or cls()).with_settings(where, **settings)


def renamed(old: dict[str, Any], names: dict[str, str], where: str, stacklevel: int = 3) -> dict[str, Any]:
    """Keyword arguments under their earlier names (``names``: old -> new), as the new names, with a
    DeprecationWarning; a TypeError for any other unknown keyword."""
    unknown = sorted(set(old) - set(names))
    if unknown:
        raise TypeError(f"{where}() got an unexpected keyword argument {unknown[0]!r}")
    for name in old:
        warnings.warn(f"{where}({name}=...) is now {names[name]}=...", DeprecationWarning, stacklevel=stacklevel)
    return {names[name]: value for name, value in old.items()}


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
