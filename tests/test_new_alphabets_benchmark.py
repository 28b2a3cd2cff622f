"""benchmarks/new_alphabets.py: the within-alphabet sampler, the leave-alphabets-out split, the CLI."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import new_alphabets as bench  # noqa: E402
from metakit.data.charset import CharacterSet  # noqa: E402

SIZES = {"Alpha": 25, "Beta": 21, "Gamma": 6, "Delta": 30, "Eps": 12}


def fake_pool() -> CharacterSet:
    """Characters of five alphabets; image [c, d] is filled with c % 251 so images name their character."""
    manifest = [{"alphabet": a, "character": f"c{i:02d}"} for a, n in SIZES.items() for i in range(n)]
    count = len(manifest)
    images = np.broadcast_to((np.arange(count) % 251).astype(np.uint8)[:, None, None, None],
                             (count, 20, 28, 28)).copy()
    return CharacterSet(images=images, manifest=manifest, name="fake")


def test_within_alphabet_episodes_draw_every_class_from_one_alphabet():
    pool = fake_pool()
    alphabet_of = pool.alphabet_of()
    for ways in (5, 20):
        sampler = bench.WithinAlphabetSampler(pool, ways, 1, 3, seed=0)
        # only alphabets with >= ways characters are eligible
        assert sorted(sampler.names) == sorted(a for a, n in SIZES.items() if n >= ways)
        seen = set()
        episodes = sampler.episodes(0, 40)
        assert episodes.support.shape == (40, ways, 1, 28, 28)
        for b in range(40):
            classes = episodes.classes[b].numpy()
            assert len(set(classes)) == ways
            alphabets = set(alphabet_of[classes])
            assert len(alphabets) == 1, f"episode {b} mixes alphabets {alphabets}"
            seen |= alphabets
            # the images are those of the named characters (classes index the whole pool)
            pixels = (episodes.support[b, :, 0, 0, 0] * 255).round().numpy().astype(int)
            assert list(pixels) == list(classes % 251)
        assert len(seen) == len(sampler.names), "every eligible alphabet should occur in 40 episodes"
    again = bench.WithinAlphabetSampler(pool, 5, 1, 3, seed=0).episodes(7, 1)
    assert (again.classes[0] == bench.WithinAlphabetSampler(pool, 5, 1, 3, seed=0).episodes(7, 1).classes[0]).all()


def test_an_across_alphabet_sampler_mixes_alphabets():
    """Control: the plain sampler over the same pool does mix alphabets, so the check above can fail."""
    pool = fake_pool()
    episodes = bench.EpisodeSampler(pool, 20, 1, 3, seed=0).episodes(0, 10)
    assert any(len(set(pool.alphabet_of()[c.numpy()])) > 1 for c in episodes.classes)


def test_leave_alphabets_out_is_disjoint_and_seeded():
    pool = fake_pool()
    tests = bench.choose_test_alphabets(pool, 2, seed=0)
    assert tests == bench.choose_test_alphabets(pool, 2, seed=0)
    assert set(tests) <= {"Alpha", "Beta", "Delta"}, "only alphabets with >= 20 characters are held out"
    split = bench.leave_alphabets_out(pool, tests, char_test=10, seed=0)
    train_alphabets = set(split.train.alphabets)
    assert not train_alphabets & set(tests)
    assert set(split.held_out_alphabets.alphabets) == set(tests)
    assert set(split.held_out_characters.alphabets) <= train_alphabets
    keys = [{(e["alphabet"], e["character"]) for e in s.manifest}
            for s in (split.train, split.held_out_characters, split.held_out_alphabets)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert sum(len(k) for k in keys) == pool.num_characters
    assert split.held_out_characters.num_characters == 10
    with pytest.raises(ValueError, match="cannot hold out"):
        bench.choose_test_alphabets(pool, 4, seed=0)


def test_cli_runs_end_to_end_with_tiny_settings(capsys):
    code = bench.main(["--method", "protonet", "--source", "glyphs", "--threads", "1", "--episodes", "3",
                       "--char-test", "10", "--set", "steps=2", "hidden=4", "ways=5", "shots=1", "queries=2",
                       "augment=False"])
    out = capsys.readouterr().out
    assert code == 0
    assert "test alphabets" in out and "trained 2 of 2 steps" in out
    for figure in bench.FIGURES:
        assert figure in out
    table = [line.split() for line in out.splitlines() if line.strip().startswith(bench.TEST_TIME)]
    assert [row[0] for row in table] == list(bench.TEST_TIME)
    assert all(len(row) == 1 + 3 * len(bench.FIGURES) for row in table)  # "acc +- ci" per figure


def test_budget_stops_training(capsys):
    bench.main(["--method", "protonet", "--source", "glyphs", "--threads", "1", "--episodes", "2",
                "--char-test", "10", "--budget-s", "0", "--test-time", "ref",
                "--set", "steps=50", "hidden=4", "ways=5", "shots=1", "queries=2", "augment=False"])
    out = capsys.readouterr().out
    assert "trained 0 of 50 steps" in out and "stopped by --budget-s" in out
