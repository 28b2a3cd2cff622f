"""N-way K-shot episodes sampled in memory from a ``[C, D, 28, 28]`` uint8 character array.

One episode picks N characters in a random order (way ``j`` gets label ``j``), then K support
and Q query drawings of each, without overlap. Episode ``i`` of a sampler depends only on
``(seed, i)``: the same seed gives the same episodes whatever the batch size, and a DataLoader
with any number of workers gives the same episodes as the sampler itself.

Shapes (B episodes, N ways, K shots, Q queries, 28x28 images)::

    episodes.support         [B, N, K, 28, 28]  float32 in [0, 1]
    episodes.query           [B, N, Q, 28, 28]
    episodes.classes         [B, N]             int64 character index of each way
    episodes.flat()          support_x [B, N*K, 1, 28, 28], support_y [B, N*K],
                             query_x   [B, N*Q, 1, 28, 28], query_y   [B, N*Q]

How an assignment arranges episodes further (hw1's MANN layout, for example) is the student's work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from metakit.data.charset import CharacterSet
from metakit.episodes.augment import AffineJitter, warp
from metakit.episodes.index import GridIndexer, episode_seed
from metakit.episodes.stream import EpisodeStream

_AUGMENT_SALT = 0x5EED_A11F  # distortions draw from their own stream: episodes stay the same


@dataclass
class Episodes:
    """A batch of episodes; see the module docstring for shapes."""

    support: torch.Tensor
    query: torch.Tensor
    classes: torch.Tensor

    @property
    def ways(self) -> int:
        return int(self.support.shape[1])

    @property
    def shots(self) -> int:
        return int(self.support.shape[2])

    @property
    def queries(self) -> int:
        return int(self.query.shape[2])

    def support_labels(self) -> torch.Tensor:
        """``[B, N, K]`` int64: way index of every support image."""
        return _way_labels(self.support)

    def query_labels(self) -> torch.Tensor:
        """``[B, N, Q]`` int64: way index of every query image."""
        return _way_labels(self.query)

    def flat(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Support and query as flat image batches with a channel axis, ordered way-major."""
        b, n, k = self.support.shape[:3]
        q = self.query.shape[2]
        hw = self.support.shape[-2:]
        support_x = self.support.reshape(b, n * k, 1, *hw)
        query_x = self.query.reshape(b, n * q, 1, *hw)
        return (
            support_x,
            self.support_labels().reshape(b, n * k),
            query_x,
            self.query_labels().reshape(b, n * q),
        )

    def to(self, device: torch.device | str) -> "Episodes":
        return Episodes(self.support.to(device), self.query.to(device), self.classes.to(device))


def _way_labels(images: torch.Tensor) -> torch.Tensor:
    b, n, k = images.shape[:3]
    return torch.arange(n, device=images.device).view(1, n, 1).expand(b, n, k).contiguous()


class EpisodeSampler(EpisodeStream):
    """Seeded N-way K-shot Q-query episodes over a :class:`CharacterSet` (or its images array).

    Args:
        data: a CharacterSet or a uint8 array/tensor ``[C, D, H, W]``.
        ways, shots, queries: N, K and Q. ``shots + queries`` must not exceed the drawers D.
        seed: episode ``i`` depends only on ``(seed, i)``.
        rotations: add the 90/180/270-degree rotations of every character as new classes (4C
            classes; class ``r * C + c`` is character ``c`` rotated by ``r * 90`` degrees),
            computed on the fly. Split characters first, then rotate within a split.
        augment: warp every image by a random small affine map (:class:`AffineJitter`; True
            means its default ranges), drawn from episode ``i``'s own stream. For training
            samplers only; the classes, drawers and order of every episode are unchanged.
        device: where the returned tensors live; images move as uint8, then become float.

    The stream methods (``sample``, ``batches``, ``reset``) are those of
    :class:`~metakit.episodes.stream.EpisodeStream`.
    """

    def __init__(
        self,
        data: CharacterSet | np.ndarray | torch.Tensor,
        ways: int,
        shots: int,
        queries: int,
        seed: int = 0,
        rotations: bool = False,
        device: torch.device | str = "cpu",
        augment: bool | AffineJitter = False,
    ) -> None:
        images = data.images if isinstance(data, CharacterSet) else data
        self.images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"EpisodeSampler wants uint8 images [C, D, H, W]; got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        num_chars, drawers = int(self.images.shape[0]), int(self.images.shape[1])
        num_classes = num_chars * (4 if rotations else 1)
        if ways < 1 or shots < 1 or queries < 0:
            raise ValueError(f"need ways >= 1, shots >= 1, queries >= 0; got {ways}, {shots}, {queries}")
        if ways > num_classes:
            raise ValueError(
                f"{ways}-way episodes need {ways} classes but this split has only {num_classes}"
                f" ({num_chars} characters{' x 4 rotations' if rotations else ''})"
            )
        if shots + queries > drawers:
            raise ValueError(
                f"{shots} shots + {queries} queries = {shots + queries} drawings per class, "
                f"but each character has only {drawers} drawers"
            )
        self.ways, self.shots, self.queries = ways, shots, queries
        self.seed, self.rotations = int(seed), rotations
        self.augment = AffineJitter() if augment is True else (augment or None)
        self.device = torch.device(device)
        self.num_classes = num_classes
        self.indexer = GridIndexer(num_classes, drawers, ways, shots, queries, self.seed)
        self._next = 0

    # ------------------------------------------------------------------ indices
    def episode_indices(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Classes ``[N]`` and drawers ``[N, K+Q]`` of episode ``index`` (pure function of seed)."""
        return self.indexer.indices(index)

    def distortions(self, index: int) -> torch.Tensor | None:
        """Affine maps ``[N, K+Q, 2, 3]`` of episode ``index``'s images (None without ``augment``)."""
        if self.augment is None:
            return None
        gen = torch.Generator().manual_seed(episode_seed(self.seed ^ _AUGMENT_SALT, index))
        count = self.ways * (self.shots + self.queries)
        theta = self.augment.sample(count, gen, size=int(self.images.shape[-1]))
        return theta.view(self.ways, self.shots + self.queries, 2, 3)

    def _gather(self, classes: torch.Tensor, drawers: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, N, K+Q, H, W]`` for classes ``[B, N]`` and drawers ``[B, N, K+Q]``."""
        num_chars, num_drawers, height, width = self.images.shape
        chars = classes % num_chars
        rows = (chars.unsqueeze(-1) * num_drawers + drawers).reshape(-1)  # [B*N*(K+Q)]
        flat = self.images.reshape(num_chars * num_drawers, height * width)
        picked = flat.index_select(0, rows).view(*drawers.shape, height, width)
        if self.rotations:
            quarter_turns = classes // num_chars
            for r in (1, 2, 3):
                mask = quarter_turns == r
                if bool(mask.any()):
                    picked[mask] = torch.rot90(picked[mask], r, dims=(-2, -1))
        return picked

    # ------------------------------------------------------------------ batches
    def episodes(self, start: int, count: int) -> Episodes:
        """Episodes ``start .. start+count-1`` as one batch."""
        pairs = [self.episode_indices(i) for i in range(start, start + count)]
        classes = torch.stack([c for c, _ in pairs])
        drawers = torch.stack([d for _, d in pairs])
        theta = None if self.augment is None else torch.stack([self.distortions(i) for i in range(start, start + count)])
        return self._assemble(classes, self._gather(classes, drawers), theta)

    def _assemble(self, classes: torch.Tensor, picked: torch.Tensor, theta: torch.Tensor | None) -> Episodes:
        picked = picked.to(self.device, non_blocking=True)
        images = _to_float(picked, theta)
        return Episodes(
            support=images[:, :, : self.shots],
            query=images[:, :, self.shots :],
            classes=classes.to(self.device),
        )

    # ------------------------------------------------------------- DataLoader
    def dataset(self, length: int) -> "EpisodeDataset":
        """A map-style Dataset whose item ``i`` is episode ``i`` (for DataLoader workers)."""
        return EpisodeDataset(self, length)


def _to_float(picked: torch.Tensor, theta: torch.Tensor | None) -> torch.Tensor:
    """uint8 ``[B, N, K+Q, H, W]`` -> float32 in [0, 1], warped by ``theta [B, N, K+Q, 2, 3]`` if given."""
    images = picked.float().div_(255.0)
    return images if theta is None else warp(images, theta)


class EpisodeDataset(torch.utils.data.Dataset):
    """Item ``i`` = (images uint8 ``[N, K+Q, H, W]``, classes ``[N]``, affine maps ``[N, K+Q, 2, 3]``
    or None), episode ``i`` of the sampler.

    Use :func:`collate_episodes` as the DataLoader's ``collate_fn`` to get :class:`Episodes`.
    Items stay uint8 so workers ship 4x less; the collate converts to float last.
    """

    def __init__(self, sampler: EpisodeSampler, length: int) -> None:
        self.sampler, self.length = sampler, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        classes, drawers = self.sampler.episode_indices(index)
        picked = self.sampler._gather(classes.unsqueeze(0), drawers.unsqueeze(0))[0]
        return picked, classes, self.sampler.distortions(index)


def collate_episodes(items: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]], shots: int) -> Episodes:
    """Stack DataLoader items into :class:`Episodes`; ``shots`` splits support from query."""
    picked = torch.stack([item[0] for item in items])
    classes = torch.stack([item[1] for item in items])
    thetas = [item[2] for item in items]
    theta = None if thetas[0] is None else torch.stack(thetas)
    images = _to_float(picked, theta)
    return Episodes(support=images[:, :, :shots], query=images[:, :, shots:], classes=classes)
