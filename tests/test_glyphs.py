"""The embedded glyph generator: form, determinism, metadata, cache, difficulty, bad arguments."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metakit.data.glyphs import generate_glyphs, load_glyphs, nn_baseline_accuracy


@pytest.fixture(scope="module")
def small():
    return generate_glyphs(num_alphabets=4, characters_per_alphabet=6, drawers=8, seed=3)


def test_shape_dtype_and_ink(small) -> None:
    assert small.images.shape == (24, 8, 28, 28) and small.images.dtype == np.uint8
    assert small.images.max() == 255 and small.images.min() == 0
    ink = (small.images > 127).mean(axis=(2, 3))
    assert (ink > 0.01).all() and (ink < 0.5).all(), "every drawing has some ink and is mostly background"


def test_same_seed_same_images_other_seed_other_images(small) -> None:
    again = generate_glyphs(num_alphabets=4, characters_per_alphabet=6, drawers=8, seed=3)
    other = generate_glyphs(num_alphabets=4, characters_per_alphabet=6, drawers=8, seed=4)
    assert np.array_equal(small.images, again.images) and small.manifest == again.manifest
    assert not np.array_equal(small.images, other.images)


def test_drawers_differ_but_resemble_their_character(small) -> None:
    x = small.images.astype(np.float32).reshape(24, 8, -1) / 255
    assert all(not np.array_equal(x[c, 0], x[c, 1]) for c in range(24))
    centroids = x.mean(axis=1)  # [C, 784]
    within = np.linalg.norm(x - centroids[:, None], axis=-1).mean()
    between = np.linalg.norm(x[:, :, None] - centroids[None, None], axis=-1).mean()
    assert within < 0.8 * between


def test_manifest_is_sorted_and_metadata_varies(small) -> None:
    keys = [(e["alphabet"], e["character"]) for e in small.manifest]
    assert keys == sorted(keys) and len(set(keys)) == 24 and len(small.alphabets) == 4
    big = generate_glyphs(num_alphabets=10, characters_per_alphabet=10, drawers=2, seed=0)
    for key, kind in (("strokes", int), ("has_curve", bool), ("has_loop", bool), ("has_dot", bool)):
        values = [e[key] for e in big.manifest]
        assert all(isinstance(v, kind) for v in values)
        assert len(set(values)) > 1, f"{key} is the same for every character"
    for entry in big.manifest:
        kinds = entry["stroke_kinds"]
        assert entry["strokes"] == len(kinds)
        assert entry["has_loop"] == ("loop" in kinds) and entry["has_dot"] == ("dot" in kinds)
        assert entry["has_curve"] == any(k in ("arc", "hook", "loop") for k in kinds)


def test_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path))
    first = load_glyphs(num_alphabets=2, characters_per_alphabet=3, drawers=4, seed=1)
    files = list((tmp_path / "glyphs").iterdir())
    assert len(files) == 2
    second = load_glyphs(num_alphabets=2, characters_per_alphabet=3, drawers=4, seed=1)
    assert np.array_equal(first.images, second.images) and first.manifest == second.manifest


def test_learnable_but_not_trivial() -> None:
    accuracy = nn_baseline_accuracy(generate_glyphs(num_alphabets=10, characters_per_alphabet=20, seed=0),
                                    episodes=300)
    assert 0.40 <= accuracy <= 0.90, f"pixel 1-NN 5-way 1-shot accuracy {accuracy:.2f}"


@pytest.mark.parametrize("kwargs", [{"drawers": 0}, {"num_alphabets": 0}, {"characters_per_alphabet": -1}])
def test_bad_arguments_say_which(kwargs: dict) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        generate_glyphs(**kwargs)


def test_baseline_refuses_impossible_episodes(small) -> None:
    with pytest.raises(ValueError, match="need 30 characters"):
        nn_baseline_accuracy(small, ways=30)
    with pytest.raises(ValueError, match="9 drawers"):
        nn_baseline_accuracy(small, shots=8)
