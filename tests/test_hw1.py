"""Fast tests of metakit/blackbox.py (hw1's training loop, evaluation and data plumbing).

The layout function and models here are test doubles written for these tests; the package itself
never contains hw1's answers.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from metakit import blackbox, fewshot
from metakit.data.charset import CharacterSet
from metakit.episodes import EpisodeSampler, Episodes


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models train faster on one thread, and far faster on a shared, busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------ test doubles
def layout(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A plain MANN layout (support rows in class order, shuffled query row)."""
    b, n, k = episodes.support.shape[:3]
    support = episodes.support.transpose(1, 2).reshape(b, k, n, -1)
    order = torch.rand(b, n, generator=generator).argsort(dim=1)
    query = episodes.query[:, :, 0].reshape(b, n, -1)[torch.arange(b)[:, None], order]
    eye = torch.eye(n)
    labels = torch.cat([eye.expand(b, k, n, n), eye[order][:, None]], dim=1)
    return torch.cat([support, query[:, None]], dim=1), labels


class NearestSupport(torch.nn.Module):
    """No learning: scores each query by minus its pixel distance to each class's support images."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        support, support_labels = images[:, :-1], labels[:, :-1]
        query = images[:, -1]  # [B, N, D]
        dist = torch.cdist(query, support.flatten(1, 2))  # [B, N, K*N]
        classes = support_labels.flatten(1, 2)  # [B, K*N, N]
        scores = -(torch.einsum("bqs,bsc->bqc", dist, classes) / classes.sum(1, keepdim=True))
        out = torch.zeros_like(labels)
        out[:, -1] = scores + 0 * self.unused
        return out


class ReadsQueryLabels(torch.nn.Module):
    """Cheats: returns its input labels as scores."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return labels * 10 + 0 * self.unused


class TinyMANN(torch.nn.Module):
    def __init__(self, ways: int, hidden: int = 16) -> None:
        super().__init__()
        self.layer1 = torch.nn.LSTM(784 + ways, hidden, batch_first=True)
        self.layer2 = torch.nn.LSTM(hidden, ways, batch_first=True)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b, r, n = labels.shape[:3]
        visible = labels.clone()
        visible[:, -1] = 0
        out, _ = self.layer1(torch.cat([images, visible], -1).reshape(b, r * n, -1))
        out, _ = self.layer2(out)
        return out.reshape(b, r, n, n)


def query_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    n = labels.shape[-1]
    return torch.nn.functional.cross_entropy(preds[:, -1].reshape(-1, n), labels[:, -1].reshape(-1, n).argmax(-1))


def blob_charset(characters: int = 12, seed: int = 0, name: str = "blobs") -> CharacterSet:
    """Characters that are easy to tell apart: a fixed random blob per character, small noise per drawer."""
    rng = np.random.default_rng(seed)
    base = rng.random((characters, 1, 28, 28)) < 0.25
    flips = rng.random((characters, 20, 28, 28)) < 0.03
    images = (np.logical_xor(base, flips) * 255).astype(np.uint8)
    manifest = [{"alphabet": f"a{i // 4}", "character": f"{name}{i:02d}"} for i in range(characters)]
    return CharacterSet(images=images, manifest=manifest, name=name)


def blob_split() -> blackbox.DataSplit:
    return blackbox.DataSplit(blob_charset(12, 0, "train"), blob_charset(6, 1, "test"), "blobs", "test doubles")


# ------------------------------------------------------------------------------ evaluation
def test_query_accuracy_counts_only_the_query_row():
    labels = torch.eye(3).expand(2, 2, 3, 3).clone()
    labels[1, -1] = torch.eye(3)[[2, 0, 1]]
    preds = torch.zeros_like(labels)
    preds[:, -1] = labels[:, -1]
    preds[0, -1, 0] = torch.tensor([0.0, 1.0, 0.0])  # one wrong query of six
    preds[:, 0] = -labels[:, 0]  # support rows wrong: must not count
    assert blackbox.query_accuracy(preds, labels) == pytest.approx(5 / 6)


def test_query_accuracy_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\[B, K\+1, N, N\]"):
        blackbox.query_accuracy(torch.zeros(2, 2, 3, 3), torch.zeros(2, 2, 3, 2))
    with pytest.raises(ValueError, match="labels' shape"):
        blackbox.query_accuracy(torch.zeros(2, 2, 3), torch.zeros(2, 2, 3, 3))


def test_hide_query_labels_replaces_only_the_query_row_with_random_classes():
    labels = torch.eye(4).expand(64, 3, 4, 4).clone()
    hidden = blackbox.hide_query_labels(labels, torch.Generator().manual_seed(0))
    assert torch.equal(hidden[:, :2], labels[:, :2])
    decoys = hidden[:, -1]
    assert torch.equal(decoys.sum(2), torch.ones(64, 4)) and set(decoys.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(decoys, labels[:, -1])
    again = blackbox.hide_query_labels(labels, torch.Generator().manual_seed(0))
    assert torch.equal(hidden, again)
    assert torch.equal(labels, torch.eye(4).expand(64, 3, 4, 4)), "the input must not change"


def test_hide_query_labels_is_not_a_shuffle_of_the_classes():
    """The kit must not hold the query-row shuffle of make_mann_batch: its decoys are independent
    draws, so most rows name some class twice (a permutation never does)."""
    labels = torch.eye(4).expand(500, 2, 4, 4).clone()
    decoys = blackbox.hide_query_labels(labels, torch.Generator().manual_seed(1))[:, -1]
    is_permutation = (decoys.sum(1) == 1).all(dim=1)  # [B]: every class named once
    assert is_permutation.float().mean() < 0.2  # 4!/4^4 = 9% of independent draws are permutations
    reference_shuffle = torch.eye(4)[torch.rand(500, 4, generator=torch.Generator().manual_seed(1)).argsort(1)]
    assert not torch.equal(decoys, reference_shuffle)


def test_evaluation_is_honest_and_repeatable():
    data = blob_split()
    sampler = EpisodeSampler(data.test, 3, 1, 1, seed=5)
    acc, loss = blackbox.evaluate_blackbox(layout, NearestSupport(), query_loss, sampler, episodes=120, batch_size=50)
    assert acc > 0.95 and np.isfinite(loss)
    assert blackbox.evaluate_blackbox(layout, NearestSupport(), query_loss, sampler, episodes=120)[0] == acc
    cheat, _ = blackbox.evaluate_blackbox(layout, ReadsQueryLabels(), query_loss, sampler, episodes=300)
    assert cheat < 0.5, f"a model reading its query labels should score about chance (1/3), got {cheat}"


# ------------------------------------------------------------------------------ training
def blob_samplers(ways: int = 2, shots: int = 1, **options) -> tuple[EpisodeSampler, EpisodeSampler]:
    return blackbox.episode_samplers(blob_split(), ways, shots, **options)


def test_train_blackbox_returns_curves_and_learns():
    torch.manual_seed(0)
    model = TinyMANN(2, hidden=32)
    blobs = blob_charset(30, 0, "seen")  # test on the training characters: this checks the loop, not generalisation
    data = blackbox.DataSplit(blobs, blobs, "blobs", "train = test")
    result = blackbox.train_blackbox(layout, model, query_loss, *blackbox.episode_samplers(data, 2, 1), steps=300,
                                     meta_batch=32, lr=1e-2, eval_every=100, eval_episodes=200, progress=False,
                                     device="cpu", label="tiny")
    assert result.steps == 300 and result.eval_steps == result.train_steps == [100, 200, 300]
    assert sorted(result.evaluation) == sorted(result.train) == ["loss", "query_accuracy"]
    assert all(len(values) == 3 for values in [*result.evaluation.values(), *result.train.values()])
    assert result.curve() == (result.eval_steps, result.evaluation["query_accuracy"])
    assert result.final_accuracy == result.evaluation["query_accuracy"][-1] > 0.7, result.evaluation
    assert result.settings["ways"] == 2 and result.settings["shots"] == 1 and result.seconds > 0
    assert result.summary().startswith("tiny: 300 steps in ") and "held-out query accuracy" in result.summary()


def test_train_blackbox_is_seeded():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(blackbox.train_blackbox(layout, TinyMANN(2), query_loss, *blob_samplers(), steps=20,
                                            meta_batch=4, eval_every=10, eval_episodes=20, progress=False))
    assert runs[0].evaluation == runs[1].evaluation and runs[0].train == runs[1].train


def test_episode_samplers_are_the_documented_streams():
    data = blob_split()
    train, test = blackbox.episode_samplers(data, 3, 2, seed=4, rotations=True, augment=True)
    assert (train.ways, train.shots, train.queries, train.seed) == (3, 2, 1, 4)
    assert train.rotations and train.augment is not None and train.num_classes == 4 * len(data.train.images)
    assert (test.ways, test.shots, test.queries, test.seed) == (3, 2, 1, 10_004)
    assert not test.rotations and test.augment is None and test.num_classes == len(data.test.images)


def test_train_blackbox_takes_a_config_or_its_fields_as_keywords():
    """A BlackboxConfig, the same settings as keywords, or a config with keywords over it: one run."""
    config = blackbox.BlackboxConfig(steps=20, meta_batch=4, eval_every=10, eval_episodes=20, lr=3e-3, seed=1)
    runs = []
    for args, keywords in (((config,), {}),
                           ((), dict(steps=20, meta_batch=4, eval_every=10, eval_episodes=20, lr=3e-3, seed=1)),
                           ((blackbox.BlackboxConfig(steps=20, lr=3e-3),), dict(meta_batch=4, eval_every=10,
                                                                               eval_episodes=20, seed=1))):
        torch.manual_seed(0)
        runs.append(blackbox.train_blackbox(layout, TinyMANN(2), query_loss, *blob_samplers(seed=1), *args,
                                            progress=False, **keywords))
    assert all(run.evaluation == runs[0].evaluation and run.train == runs[0].train for run in runs[1:])
    assert runs[0].settings == {**dataclasses.asdict(config), "ways": 2, "shots": 1, "rotations": False,
                                "augment": False}
    assert config.steps == 20, "the config itself is never changed"
    assert blackbox.BlackboxConfig() == blackbox.BlackboxConfig(steps=2000, meta_batch=32, lr=1e-3, eval_every=250,
                                                                eval_episodes=500, grad_clip=None, cosine=False, seed=0)
    with pytest.raises(TypeError, match="no setting 'step'; its settings are steps, meta_batch"):
        blackbox.train_blackbox(layout, TinyMANN(2), query_loss, *blob_samplers(), config, step=3)
    with pytest.raises(TypeError, match="takes a BlackboxConfig; got a ProtoNetConfig"):
        blackbox.train_blackbox(layout, TinyMANN(2), query_loss, *blob_samplers(), fewshot.ProtoNetConfig())


def test_train_blackbox_checks_its_samplers():
    data = blob_split()
    train, test = blob_samplers()
    with pytest.raises(TypeError, match="a training and a test EpisodeSampler"):
        blackbox.train_blackbox(layout, TinyMANN(2), query_loss, train, steps=1, progress=False)
    with pytest.raises(ValueError, match="one query per class"):
        blackbox.train_blackbox(layout, TinyMANN(2), query_loss, train, EpisodeSampler(data.test, 2, 1, 2),
                                steps=1, progress=False)
    with pytest.raises(ValueError, match="2-way 1-shot but the test episodes 3-way 1-shot"):
        blackbox.train_blackbox(layout, TinyMANN(2), query_loss, train, EpisodeSampler(data.test, 3, 1, 1),
                                steps=1, progress=False)


def test_train_blackbox_still_takes_a_data_split_with_a_warning():
    """The earlier call (a DataSplit and ways=, shots=, rotations=, augment= keywords, or a config
    after the split) gives the same run as the samplers episode_samplers makes, and says so."""
    options = dict(steps=6, meta_batch=2, eval_every=3, eval_episodes=4, seed=2, progress=False)
    torch.manual_seed(0)
    new = blackbox.train_blackbox(layout, TinyMANN(2), query_loss,
                                  *blob_samplers(seed=2, rotations=True, augment=True), **options)
    for args, keywords in (((), options), ((blackbox.BlackboxConfig(steps=6, meta_batch=2, eval_every=3,
                                                                     eval_episodes=4, seed=2),), {"progress": False})):
        torch.manual_seed(0)
        with pytest.warns(DeprecationWarning, match="now takes samplers"):
            old = blackbox.train_blackbox(layout, TinyMANN(2), query_loss, blob_split(), *args, ways=2, shots=1,
                                          rotations=True, augment=True, **keywords)
        assert old.evaluation == new.evaluation and old.train == new.train
        assert old.settings == {**new.settings, "data": blob_split().source}
    with pytest.raises(TypeError, match="needs shots"):
        with pytest.warns(DeprecationWarning):
            blackbox.train_blackbox(layout, TinyMANN(2), query_loss, blob_split(), ways=2)


def test_cosine_schedule_changes_the_steps_but_not_the_first():
    def trained(cosine: bool, steps: int) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = TinyMANN(2)
        blackbox.train_blackbox(layout, model, query_loss, *blob_samplers(), steps=steps, meta_batch=2,
                                lr=1e-2, eval_every=steps, eval_episodes=4, cosine=cosine, progress=False)
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(trained(True, 1), trained(False, 1))), "step 1 uses the full lr"
    assert not all(torch.allclose(a, b) for a, b in zip(trained(True, 6), trained(False, 6))), "later steps decay"


def test_train_blackbox_stops_on_nan_loss():
    def nan_loss(preds, labels):
        return preds.sum() * float("nan")

    with pytest.raises(FloatingPointError, match="step 1"):
        blackbox.train_blackbox(layout, TinyMANN(2), nan_loss, *blob_samplers(), steps=5, progress=False)


def test_gather_images_and_fit_fixed_batches():
    pool = blob_charset(6).images
    picks = np.zeros((3, 2, 2, 2, 2), dtype=np.int64)
    picks[..., 0] = np.arange(2)[None, None, None, :]
    picks[..., 1] = 7
    images = blackbox.gather_images(pool, picks[0])
    assert images.shape == (2, 2, 2, 784) and images.dtype == torch.float32
    assert torch.equal(images[1, 0, 1], torch.as_tensor(pool[1, 7]).reshape(-1).float() / 255)
    labels = np.broadcast_to(np.eye(2), (3, 2, 2, 2, 2)).astype(np.float32)
    losses = blackbox.fit_fixed_batches(TinyMANN(2), query_loss, pool, picks, labels, lr=1e-2)
    assert len(losses) == 3 and all(np.isfinite(losses))


# ------------------------------------------------------------------------------ data
def test_load_data_rejects_unknown_source():
    with pytest.raises(ValueError, match="glyphs"):
        blackbox.load_data("mnist")


def _names(charset: CharacterSet) -> set[tuple[str, str]]:
    return {(e["alphabet"], e["character"]) for e in charset.manifest}


def test_glyph_split_is_disjoint():
    data = blackbox.load_data("glyphs", num_alphabets=3, characters_per_alphabet=10)
    assert data.source == "glyphs"
    assert (data.train.num_characters, data.test.num_characters) == (24, 6)
    assert not _names(data.train) & _names(data.test)


def test_omniglot_split_uses_both_minimal_splits_without_leaks(omniglot_dir, monkeypatch):
    monkeypatch.setenv("METAKIT_OMNIGLOT", str(omniglot_dir))
    data = blackbox.load_data("omniglot")
    assert (data.train.num_characters, data.test.num_characters) == (200, 42)  # 136 + 156 - 50 shared = 242
    assert not _names(data.train) & _names(data.test)
    assert data.train.images.shape[1:] == (20, 28, 28)
    assert blackbox.load_data("auto").source == "omniglot"
    again = blackbox.load_data("omniglot")
    assert np.array_equal(again.test.images, data.test.images), "the split must be seeded"


def test_load_data_reads_any_omniglot_path(omniglot_dir):
    path = omniglot_dir / "images_background_small1.zip"
    data = blackbox.load_data(str(path))
    assert data.source == "omniglot"
    assert (data.train.num_characters, data.test.num_characters) == (109, 27)  # 136 split 80/20
    assert not _names(data.train) & _names(data.test)
    few = fewshot.load_data(str(path), val_characters=10, test_characters=30)
    assert (few.train.num_characters, few.val.num_characters, few.test.num_characters) == (96, 10, 30)
    with pytest.raises(ValueError, match="path of an Omniglot folder"):
        blackbox.load_data(str(omniglot_dir / "no-such.zip"))
