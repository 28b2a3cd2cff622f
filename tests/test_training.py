"""metakit.training: the one record of a run (History), the one config of every loop's settings,
the earlier keyword names, the one learning-rate schedule and the one loss check of every loop."""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

from metakit import fewshot
from metakit.episodes import EpisodeSampler
from metakit.training import History, LoopConfig, check_finite_loss, cosine_schedule, renamed


def tiny_images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 20, 28, 28), dtype=np.uint8)


def tiny_protonet_step(model, tasks):
    """A stand-in protonet_step: cross-entropy of the model's first three outputs on one task's queries."""
    support_x, support_y, query_x, query_y = tasks[0]
    logits = model(query_x)[:, :3]
    loss = torch.nn.functional.cross_entropy(logits, query_y)
    return loss, 0.5, float((logits.argmax(1) == query_y).float().mean())


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


# ------------------------------------------------------------------------------ History
def test_a_history_records_training_and_evaluation_at_their_own_steps() -> None:
    history = History("run")
    for step in (1, 2, 3, 4):
        history.log_train(step, loss=5.0 - step, query_accuracy=0.1 * step)
    history.log_eval(2, query_accuracy=0.5, loss=1.5)
    history.log_eval(4, query_accuracy=torch.tensor(0.75), loss=np.float32(1.25))
    history.steps, history.seconds = 4, 2.0
    assert history.train_steps == [1, 2, 3, 4] and history.eval_steps == [2, 4]
    assert history.curve() == ([2, 4], [0.5, 0.75]) and history.curve("loss", "train") == ([1, 2, 3, 4], [4.0, 3.0, 2.0, 1.0])
    assert all(type(v) is float for v in history.evaluation["loss"]), "plain floats, whatever was logged"
    assert history.final_accuracy == 0.75 and history.last("loss", "train") == 1.0 and history.seconds_per_step == 0.5
    assert history.summary() == "run: 4 steps in 2 s, training loss 1.000, held-out query accuracy 75.0%"
    with pytest.raises(KeyError, match="no eval metric 'support_accuracy'; it has \\['loss', 'query_accuracy'\\]"):
        history.curve("support_accuracy")
    with pytest.raises(ValueError, match="'eval' or 'train'"):
        history.curve("loss", "test")


def test_an_empty_history_has_nan_accuracy_and_a_short_summary() -> None:
    history = History("empty")
    assert math.isnan(history.final_accuracy) and math.isnan(history.last("loss", "train"))
    assert history.seconds_per_step == 0.0 and history.summary() == "empty: 0 steps in 0 s"


def test_earlier_keyword_names_become_the_new_ones_with_a_warning() -> None:
    names = {"iterations": "steps", "val_every": "eval_every"}
    with pytest.warns(DeprecationWarning, match=r"loop\(iterations=...\) is now steps="):
        assert renamed({"iterations": 3}, names, "loop") == {"steps": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert renamed({}, names, "loop") == {}
    with pytest.raises(TypeError, match="loop\\(\\) got an unexpected keyword argument 'iteration'"):
        renamed({"iteration": 3, "val_every": 1}, names, "loop")


def test_a_loop_config_changes_by_copy_and_names_what_it_lacks() -> None:
    config = LoopConfig(steps=5)
    assert config.with_settings(eval_every=2) == LoopConfig(steps=5, eval_every=2) and config.eval_every == 100
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 3
    with pytest.raises(TypeError, match="my_loop has no setting 'iteration', 'lr'; its settings are steps, meta_batch, "
                                        "eval_every, eval_episodes, cosine"):
        config.with_settings("my_loop", iteration=3, lr=1.0)
    assert LoopConfig.of(None, {"steps": 7}, "loop") == LoopConfig(steps=7)
    assert LoopConfig.of(config, {}, "loop") is not None and LoopConfig.of(config, {}, "loop") == config


def test_the_few_shot_loops_take_their_earlier_keywords_and_give_the_same_history() -> None:
    images = tiny_images()

    runs = []
    for keywords in (dict(steps=3, eval_every=2, eval_episodes=2), dict(iterations=3, val_every=2, val_tasks=2)):
        torch.manual_seed(0)
        model = fewshot.ProtoNetEmbedding(hidden=4)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fewshot.train_protonet(tiny_protonet_step, model, EpisodeSampler(images, 3, 1, 2, seed=0),
                                             EpisodeSampler(images, 3, 1, 2, seed=1), meta_batch=1, log_every=1,
                                             progress=False, **keywords)
        runs.append((history, [str(w.message) for w in caught if w.category is DeprecationWarning]))
    (new, new_warnings), (old, old_warnings) = runs
    assert new_warnings == [] and len(old_warnings) == 3
    assert new.steps == old.steps == 3 and new.eval_steps == old.eval_steps == [2, 3]
    assert new.train == old.train and new.evaluation == old.evaluation
    with pytest.raises(TypeError, match="train_maml has no setting 'val_step'; its settings are steps, meta_batch"):
        fewshot.train_maml(None, None, val_step=1)


def test_the_few_shot_loops_take_a_config_or_its_fields_as_keywords() -> None:
    images = tiny_images()

    config = fewshot.ProtoNetConfig(steps=3, meta_batch=1, lr=3e-3, eval_every=2, eval_episodes=2, log_every=1)
    runs = []
    for args, keywords in (((config,), {}), ((), dataclasses.asdict(config)),
                           ((fewshot.ProtoNetConfig(steps=3, lr=3e-3),), dict(meta_batch=1, eval_every=2,
                                                                            eval_episodes=2, log_every=1))):
        torch.manual_seed(0)
        model = fewshot.ProtoNetEmbedding(hidden=4)
        runs.append(fewshot.train_protonet(tiny_protonet_step, model, EpisodeSampler(images, 3, 1, 2, seed=0),
                                           EpisodeSampler(images, 3, 1, 2, seed=1), *args, progress=False, **keywords))
    assert all(run.train == runs[0].train and run.evaluation == runs[0].evaluation for run in runs[1:])
    assert runs[0].settings == dataclasses.asdict(config) and runs[0].eval_steps == [2, 3]
    assert fewshot.ProtoNetConfig() == fewshot.ProtoNetConfig(steps=1000, meta_batch=16, lr=1e-3, eval_every=100,
                                                              eval_episodes=64, log_every=10, cosine=False)
    assert [f.name for f in dataclasses.fields(fewshot.MAMLConfig)] == ["steps", "meta_batch", "eval_every",
                                                                        "eval_episodes", "cosine", "log_every"]
    with pytest.raises(TypeError, match="train_maml has no setting 'lr'"):
        fewshot.train_maml(None, None, lr=1e-3)   # MAML's rates are its optimizer's
    with pytest.raises(TypeError, match="train_maml takes a MAMLConfig; got a ProtoNetConfig"):
        fewshot.train_maml(None, None, None, config)
    with pytest.raises(TypeError, match="train_protonet takes a ProtoNetConfig; got a int"):
        fewshot.train_protonet(tiny_protonet_step, None, None, None, 100)   # the earlier positional steps
