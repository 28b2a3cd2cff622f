"""metakit.training: the one learning-rate schedule and the one loss check of every loop."""
from __future__ import annotations

import math

import pytest
import torch

from metakit.training import check_finite_loss, cosine_schedule


def _rates(scheduler_of, steps: int, lr: float = 3e-3, calls: int | None = None) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = scheduler_of(optimizer, steps)
    rates = []
    for _ in range(calls if calls is not None else steps + 1):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_the_cosine_schedule_goes_from_the_rate_to_zero_along_a_half_cosine_and_stays_there() -> None:
    rates = _rates(cosine_schedule, 100, lr=3e-3, calls=130)
    assert rates[0] == pytest.approx(3e-3, rel=1e-12)
    assert rates[50] == pytest.approx(1.5e-3, rel=1e-12)
    assert rates[25] == pytest.approx(3e-3 * (1 + math.cos(math.pi / 4)) / 2, rel=1e-12)
    assert rates[100] == pytest.approx(0.0, abs=1e-18) and all(r == rates[100] for r in rates[100:])
    assert all(a >= b for a, b in zip(rates, rates[1:])), "the rate never rises"


def test_the_cosine_schedule_agrees_with_torchs_cosine_annealing() -> None:
    ours = _rates(cosine_schedule, 2000)
    torchs = _rates(lambda optimizer, steps: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps), 2000)
    assert max(abs(a - b) for a, b in zip(ours, torchs)) < 1e-15
    assert torch.tensor(ours, dtype=torch.float32).equal(torch.tensor(torchs, dtype=torch.float32)), \
        "in float32 (the parameters' precision) the two schedules are the same numbers"


def test_a_one_step_cosine_schedule_uses_the_rate_once_then_zero() -> None:
    rates = _rates(cosine_schedule, 1, calls=3)
    assert rates[0] == pytest.approx(3e-3, rel=1e-12) and rates[1:] == [pytest.approx(0.0, abs=1e-18)] * 2


def test_check_finite_loss_names_the_step_and_the_rate() -> None:
    check_finite_loss(torch.tensor(1.5), step=3, lr=1e-3)
    check_finite_loss(0.0, step=0, lr=1.0)
    for bad in (torch.tensor(float("nan")), float("inf"), torch.tensor(-float("inf"), requires_grad=True)):
        with pytest.raises(FloatingPointError, match=r"at step 7; try a smaller learning rate \(lr=0\.03\)"):
            check_finite_loss(bad, step=7, lr=0.03)
