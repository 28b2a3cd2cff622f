"""The target benchmarks (benchmarks/hw1_targets.py, hw2_targets.py) run end to end on the glyphs
with tiny settings, so that they do not rot between the full runs that measure the targets."""
from __future__ import annotations

import sys

import pytest

from metakit.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import hw1_targets  # noqa: E402
import hw2_targets  # noqa: E402


def test_hw1_targets_scales_the_notebooks_steps_and_prints_the_table(capsys):
    steps = hw1_targets.notebook_settings()[(2, 1)]["steps"]
    code = hw1_targets.main(["--data", "glyphs", "--only", "2,1", "--threads", "1", "--no-progress",
                             "--steps-factor", "0.002"])
    out = capsys.readouterr().out
    assert code == 0, out  # glyphs have no target to miss
    row = next(line for line in out.splitlines() if line.startswith("glyphs") and "2-way 1-shot" in line)
    assert row.split()[5] == str(round(steps * 0.002)), row  # the steps column
    assert "3-way" not in out  # --only keeps one setting


def test_hw1_targets_overrides_a_setting_for_every_run(capsys):
    code = hw1_targets.main(["--data", "glyphs", "--only", "2,1", "--threads", "1", "--no-progress",
                             "--steps-factor", "0.001", "--set", "hidden=8", "augment=True"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "overrides: {'hidden': 8, 'augment': True}" in out
    row = next(line for line in out.splitlines() if line.startswith("glyphs") and "2-way 1-shot" in line)
    assert row.split()[3] == "8", row  # the hidden column


def test_hw2_targets_runs_on_glyphs_without_a_verdict(capsys):
    code = hw2_targets.main(["--data", "glyphs", "--threads", "1", "--episodes", "3", "--set", "steps=2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("glyphs: ")
    for figure in ("ProtoNet 5-way 5-shot", "ProtoNet 5-way 1-shot", "MAML     5-way 1-shot"):
        line = next(line for line in out.splitlines() if figure in line)
        assert "target" not in line and "MISSED" not in line, line
    assert "'steps': 2" in out


def test_augmentation_scales_every_range_of_the_notebooks_jitter():
    from metakit.episodes import AffineJitter

    assert hw2_targets.augmentation({"augment": False, "augment_strength": 2.0}) is False
    assert hw2_targets.augmentation({"augment": True}) is True  # the sampler's own default jitter
    assert hw2_targets.augmentation({"augment": True, "augment_strength": 0}) is False
    base = AffineJitter()
    doubled = hw2_targets.augmentation({"augment": True, "augment_strength": 2.0})
    assert doubled == AffineJitter(degrees=2 * base.degrees, scale=2 * base.scale, shear=2 * base.shear,
                                   shift=2 * base.shift)


def test_overrides_read_literals_and_bare_words():
    assert hw2_targets.parse_overrides(["steps=3000", "augment=False", "downsample=pool", "lr=1e-3"]) == {
        "steps": 3000, "augment": False, "downsample": "pool", "lr": 1e-3}
    with pytest.raises(SystemExit, match="KEY=VALUE"):  # a --set item without '=' is refused
        hw2_targets.parse_overrides(["steps"])
