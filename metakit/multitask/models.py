"""The models the kit gives hw0: the interface every multi-task model follows (:class:`MultiTaskNet`),
a plain MLP for the single-task baselines and a small probe net for the gradient-cosine part.
"""
from __future__ import annotations

import torch
from torch import nn

CONDITIONINGS = ("independent", "concat", "additive", "multihead", "multiplicative")


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
