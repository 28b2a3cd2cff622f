"""The episode sampler: shapes, labels, disjoint support/query, determinism, rotations, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from metakit.data.charset import CharacterSet
from metakit.episodes import EpisodeSampler, collate_episodes


def numbered_images(chars: int = 30, drawers: int = 20) -> np.ndarray:
    """uint8 [C, D, 28, 28] where pixel (0, 0) = character and (0, 1) = drawer: easy to trace."""
    images = np.zeros((chars, drawers, 28, 28), dtype=np.uint8)
    images[:, :, 0, 0] = np.arange(chars)[:, None]
    images[:, :, 0, 1] = np.arange(drawers)[None, :]
    images[:, :, 5:20, 10] = 255  # an asymmetric stroke, so rotations are visible
    return images


def decode(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    raw = (images * 255).round().to(torch.int64).numpy()
    return raw[..., 0, 0], raw[..., 0, 1]


def test_shapes_dtypes_and_range() -> None:
    batch = EpisodeSampler(numbered_images(), ways=5, shots=2, queries=3, seed=0).sample(4)
    assert batch.support.shape == (4, 5, 2, 28, 28) and batch.query.shape == (4, 5, 3, 28, 28)
    assert batch.support.dtype == torch.float32 and batch.classes.dtype == torch.int64
    assert 0.0 <= float(batch.support.min()) and float(batch.support.max()) <= 1.0
    sx, sy, qx, qy = batch.flat()
    assert sx.shape == (4, 10, 1, 28, 28) and sy.shape == (4, 10) and qx.shape == (4, 15, 1, 28, 28)
    assert sy[0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_labels_follow_the_random_class_order() -> None:
    batch = EpisodeSampler(numbered_images(), ways=5, shots=2, queries=3, seed=1).sample(8)
    chars_s, drawers_s = decode(batch.support)
    chars_q, drawers_q = decode(batch.query)
    for b in range(8):
        for way in range(5):
            assert set(chars_s[b, way]) == {int(batch.classes[b, way])}
            assert set(chars_q[b, way]) == {int(batch.classes[b, way])}
            assert not set(drawers_s[b, way]) & set(drawers_q[b, way]), "support and query overlap"
        assert len(set(batch.classes[b].tolist())) == 5, "a class twice in one episode"
    orders = {tuple(np.argsort(batch.classes[b].numpy())) for b in range(8)}
    assert len(orders) > 1, "labels are always assigned in sorted class order"


def test_same_episodes_whatever_the_batch_size() -> None:
    images = numbered_images()
    whole = EpisodeSampler(images, 5, 1, 2, seed=7).sample(12)
    pieces = EpisodeSampler(images, 5, 1, 2, seed=7)
    parts = [pieces.sample(n) for n in (5, 1, 6)]
    assert torch.equal(whole.support, torch.cat([p.support for p in parts]))
    assert torch.equal(whole.classes, torch.cat([p.classes for p in parts]))
    other = EpisodeSampler(images, 5, 1, 2, seed=8).sample(12)
    assert not torch.equal(whole.classes, other.classes)


@pytest.mark.parametrize("workers, augment", [(0, False), (2, False), (2, True)])
def test_dataloader_workers_give_the_same_episodes(workers: int, augment: bool) -> None:
    sampler = EpisodeSampler(numbered_images(), 4, 2, 3, seed=3, augment=augment)
    loader = DataLoader(sampler.dataset(10), batch_size=5, num_workers=workers,
                        collate_fn=lambda items: collate_episodes(items, shots=2))
    batches = list(loader)
    direct = EpisodeSampler(numbered_images(), 4, 2, 3, seed=3, augment=augment).sample(10)
    assert torch.equal(torch.cat([b.support for b in batches]), direct.support)
    assert torch.equal(torch.cat([b.query for b in batches]), direct.query)


def test_rotations_are_new_classes() -> None:
    images = numbered_images(chars=3)
    sampler = EpisodeSampler(images, ways=12, shots=1, queries=1, seed=0, rotations=True)
    batch = sampler.sample(2)
    assert sorted(batch.classes[0].tolist()) == list(range(12))
    for b in range(2):
        for way in range(12):
            cls = int(batch.classes[b, way])
            char, turns = cls % 3, cls // 3
            image = (batch.support[b, way, 0] * 255).round().to(torch.uint8)
            expected = torch.rot90(torch.from_numpy(images[char, 0]), turns, dims=(0, 1))
            # the drawer differs, so compare the stroke (identical for every drawer here)
            assert torch.equal(image[3:25, 3:25], expected[3:25, 3:25])


def test_charset_input_and_device() -> None:
    images = numbered_images()
    charset = CharacterSet(images, [{"alphabet": "a", "character": f"c{i}"} for i in range(30)])
    batch = EpisodeSampler(charset, 3, 1, 1, seed=0, device="cpu").sample(2)
    assert batch.support.device.type == "cpu"


@pytest.mark.parametrize(
    "kwargs, message",
    [({"ways": 31, "shots": 1, "queries": 1}, "31-way episodes need 31 classes but this split has only 30"),
     ({"ways": 5, "shots": 15, "queries": 6}, "21 drawings per class"),
     ({"ways": 0, "shots": 1, "queries": 1}, "need ways >= 1")],
)
def test_impossible_requests_say_why(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EpisodeSampler(numbered_images(), **kwargs)


def test_wrong_array_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="uint8 images"):
        EpisodeSampler(np.zeros((3, 20, 28, 28), dtype=np.float32), 2, 1, 1)


def test_augment_warps_images_but_keeps_the_episodes() -> None:
    images = numbered_images()
    plain = EpisodeSampler(images, 5, 2, 3, seed=4).sample(6)
    warped = EpisodeSampler(images, 5, 2, 3, seed=4, augment=True).sample(6)
    again = EpisodeSampler(images, 5, 2, 3, seed=4, augment=True).sample(6)
    assert torch.equal(plain.classes, warped.classes)
    assert torch.equal(warped.support, again.support) and torch.equal(warped.query, again.query)
    # every image moved, but only a little: the stroke's centre of ink stays within a few pixels
    moved = (warped.support - plain.support).abs().flatten(3).sum(-1)
    assert bool((moved > 0.5).all())

    def centre(batch: torch.Tensor) -> torch.Tensor:
        ink = batch[..., 2:, :]  # rows 0-1 hold the trace pixels
        rows = torch.arange(2, 28, dtype=torch.float32).view(-1, 1)
        cols = torch.arange(28, dtype=torch.float32).view(1, -1)
        mass = ink.sum((-2, -1))
        return torch.stack([(ink * rows).sum((-2, -1)) / mass, (ink * cols).sum((-2, -1)) / mass], -1)

    assert float((centre(warped.support) - centre(plain.support)).norm(dim=-1).max()) < 4.0
    assert float(warped.support[..., 2:, :].sum()) > 0.8 * float(plain.support[..., 2:, :].sum())
    assert 0.0 <= float(warped.support.min()) and float(warped.support.max()) <= 1.0


def test_augment_with_zero_ranges_is_the_identity() -> None:
    from metakit.augment import AffineJitter

    images = numbered_images()
    plain = EpisodeSampler(images, 5, 1, 2, seed=1).sample(3)
    still = EpisodeSampler(images, 5, 1, 2, seed=1, augment=AffineJitter(0, 0, 0, 0)).sample(3)
    assert torch.allclose(plain.support, still.support, atol=1e-5)
    assert torch.allclose(plain.query, still.query, atol=1e-5)


def test_scaled_jitter_multiplies_every_range() -> None:
    from metakit.augment import AffineJitter

    base = AffineJitter()
    doubled = base.scaled(2.0)
    assert doubled == AffineJitter(degrees=20.0, scale=0.2, shear=0.3, shift=4.0)
    assert base.scaled(0) == AffineJitter(0, 0, 0, 0) and base.scaled(1) == base
    # the same draws, twice the range: every shift (theta's last column) exactly doubles
    theta = base.sample(50, torch.Generator().manual_seed(0))
    theta2 = doubled.sample(50, torch.Generator().manual_seed(0))
    assert torch.allclose(theta2[:, :, 2], 2 * theta[:, :, 2])
    with pytest.raises(ValueError, match="negative"):
        base.scaled(-1.0)


# ------------------------------------------------------------------ pinned streams
def pinned_images() -> np.ndarray:
    return (np.arange(12 * 20 * 28 * 28) % 251).astype(np.uint8).reshape(12, 20, 28, 28)


def test_image_episodes_are_pinned() -> None:
    """The indices the samplers drew before metakit.episodes became a package, to the letter:
    the same seed must keep giving the same episodes (and so the same figures)."""
    sampler = EpisodeSampler(pinned_images(), ways=3, shots=2, queries=1, seed=7, rotations=True)
    classes, drawers = sampler.episode_indices(5)
    assert classes.tolist() == [39, 20, 3]
    assert drawers.tolist() == [[13, 7, 11], [8, 18, 16], [15, 1, 10]]
    batch = EpisodeSampler(pinned_images(), ways=2, shots=1, queries=1, seed=0, augment=True).sample(2)
    assert batch.classes.tolist() == [[6, 1], [4, 5]]
    assert round(float(batch.support.sum()), 3) == 1317.54 and round(float(batch.query.sum()), 3) == 1384.111


def test_text_and_embedding_episodes_are_pinned() -> None:
    from metakit.episodes import EmbeddingEpisodeSampler, TextEpisodeSampler
    from metakit.textdata import load_intents

    collection = load_intents()
    text = TextEpisodeSampler(collection, ways=3, shots=(1, 2), queries=2, seed=3)
    episode = text.episode(4)
    assert episode.classes.tolist() == [15, 11, 5]
    assert episode.support_index.tolist() == [618, 451, 217]
    assert episode.query_index.tolist() == [620, 621, 443, 453, 236, 203]
    first = text.sample()
    assert first.classes.tolist() == [38, 20, 31] and first.support_index.tolist() == [1532, 833, 1263]
    embeddings = torch.arange(len(collection) * 4, dtype=torch.float32).reshape(len(collection), 4)
    sampler = EmbeddingEpisodeSampler(embeddings, collection.labels, ways=2, shots=(1, 3), queries=1, seed=5,
                                      shuffle_features=True)
    batch = sampler.batch(2, 2)
    assert batch.classes.tolist() == [[7, 11], [23, 19]]
    assert batch.support[:, :, 0].tolist() == [[-1121.0, -1173.0, -1273.0, -1785.0, -1901.0, -1781.0],
                                               [3740.0, 3816.0, 3684.0, 3080.0, 3076.0, 3048.0]]
    assert batch.query[:, :, 1].tolist() == [[1278.0, 1822.0], [-3783.0, -3043.0]]


def test_every_sampler_shares_the_stream_interface() -> None:
    """episodes(start, count) is what sample(batch_size) walks, for images, text and embeddings."""
    from metakit.episodes import EmbeddingEpisodeSampler, EpisodeStream, TextEpisodeSampler
    from metakit.textdata import load_intents

    collection = load_intents()
    samplers = [EpisodeSampler(pinned_images(), ways=3, shots=1, queries=1, seed=2),
                TextEpisodeSampler(collection, ways=3, shots=1, queries=1, seed=2),
                EmbeddingEpisodeSampler(torch.randn(len(collection), 4), collection.labels, ways=3, shots=1,
                                        queries=1, seed=2)]
    for sampler in samplers:
        assert isinstance(sampler, EpisodeStream)
        sampler.reset(3)
        walked = list(sampler.batches(2, count=2))
        expected = [sampler.episodes(3, 2), sampler.episodes(5, 2)]
        for got, want in zip(walked, expected):
            assert torch.equal(got.classes if hasattr(got, "classes") else torch.stack([e.classes for e in got]),
                               want.classes if hasattr(want, "classes") else torch.stack([e.classes for e in want]))
