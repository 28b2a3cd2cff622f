"""Random small affine distortions of character images: more drawings per class for training.

With few training characters (the two official minimal Omniglot splits hold 242), a few-shot
learner soon knows every training drawing; warping each one a little (a slant, a stretch, a shift)
gives it new drawings of the same character, the way another hand would. Lake et al.'s Omniglot
work and most few-shot papers train with such distortions; test episodes are never distorted.

Shapes: ``theta [M, 2, 3]`` maps output to input coordinates in ``[-1, 1]`` (``F.affine_grid``'s
convention); ``warp(images [..., H, W], theta [..., 2, 3])`` keeps the shape of ``images``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AffineJitter:
    """Ranges of the random affine map; each is drawn uniformly in ``[-value, +value]``.

    Attributes:
        degrees: rotation.
        scale: relative change of each axis' size (0.1: 90% to 110%, independently for x and y).
        shear: horizontal shear factor.
        shift: translation in pixels, independently for x and y.
    """

    degrees: float = 10.0
    scale: float = 0.1
    shear: float = 0.15
    shift: float = 2.0

    def scaled(self, factor: float) -> "AffineJitter":
        """The same jitter with every range times ``factor`` (2: twice the rotation, stretch, shear
        and shift; 0: no distortion at all)."""
        if factor < 0:
            raise ValueError(f"a jitter's ranges cannot be negative; got factor {factor}")
        return replace(self, **{field.name: getattr(self, field.name) * factor for field in fields(self)})

    def sample(self, count: int, generator: torch.Generator, size: int = 28) -> torch.Tensor:
        """``theta [count, 2, 3]`` float32 for ``count`` images of ``size x size`` pixels."""
        u = torch.rand(count, 6, generator=generator) * 2 - 1
        angle = u[:, 0] * math.radians(self.degrees)
        scale_x, scale_y = 1 + u[:, 1] * self.scale, 1 + u[:, 2] * self.scale
        shear = u[:, 3] * self.shear
        shift_x, shift_y = u[:, 4] * self.shift * 2 / size, u[:, 5] * self.shift * 2 / size
        cos, sin = torch.cos(angle), torch.sin(angle)
        row_x = torch.stack([cos * scale_x, -sin * scale_y + shear, shift_x], dim=-1)
        row_y = torch.stack([sin * scale_x, cos * scale_y, shift_y], dim=-1)
        return torch.stack([row_x, row_y], dim=1)


def warp(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Images ``[..., H, W]`` float, each resampled (bilinear, zeros outside) through its
    ``theta [..., 2, 3]``; returns the same shape and dtype."""
    height, width = images.shape[-2:]
    flat = images.reshape(-1, 1, height, width)
    matrices = theta.reshape(-1, 2, 3).to(device=images.device, dtype=images.dtype)
    if matrices.shape[0] != flat.shape[0]:
        raise ValueError(f"{flat.shape[0]} images but {matrices.shape[0]} affine maps")
    grid = F.affine_grid(matrices, list(flat.shape), align_corners=False)
    warped = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return warped.reshape(images.shape)
