"""metakit.device(): CUDA > MPS > CPU, $METAKIT_DEVICE overrides it, clear errors; the loops use it.

The choice is tested with torch.cuda / torch.backends.mps patched (no GPU needed). The test marked
``accelerator`` runs a short training run of each homework's helper loop on a real GPU (CUDA or
Apple MPS) and skips where there is none.
"""
from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
import torch

import metakit
from metakit import blackbox, fewshot, lm, multitask
from metakit.device import available, describe, device, device_of, resolve
from metakit.episodes import EpisodeSampler
from metakit.paths import REPO_ROOT


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch):
    """Pretend hardware: ``machine(cuda=2, mps=True)``; $METAKIT_DEVICE unset."""
    monkeypatch.delenv("METAKIT_DEVICE", raising=False)

    def make(cuda: int = 0, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return make


# ------------------------------------------------------------------------------ the choice
@pytest.mark.parametrize("cuda, mps, expected", [(1, True, "cuda"), (2, False, "cuda"), (0, True, "mps"),
                                                 (0, False, "cpu")])
def test_order_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert device() == torch.device(expected)
    assert metakit.device() == torch.device(expected), "metakit.device is callable"
    assert available()[-1] == "cpu" and available()[0] == expected


def test_environment_overrides_the_choice_and_the_preferred_default(machine, monkeypatch):
    machine(cuda=2, mps=True)
    assert device("cpu") == torch.device("cpu"), "preferred is the default when METAKIT_DEVICE is unset"
    for value, expected in [("cpu", "cpu"), ("cuda:1", "cuda:1"), ("mps", "mps"), (" cuda ", "cuda")]:
        monkeypatch.setenv("METAKIT_DEVICE", value)
        assert device() == torch.device(expected)
        assert device("cpu") == torch.device(expected), "METAKIT_DEVICE wins over the notebook's default"
    monkeypatch.setenv("METAKIT_DEVICE", "")
    assert device() == torch.device("cuda"), "an empty value means unset"


@pytest.mark.parametrize("value, message", [
    ("gpu", r"METAKIT_DEVICE='gpu' is not a device name; use one of: cpu"),
    ("cuda", r"CUDA is not available on this machine .*available here: cpu"),
    ("cuda:0", r"CUDA is not available"),
    ("mps", r"MPS is not available on this machine; available here: cpu"),
    ("meta", r"the kit trains on cpu, cuda, mps only; available here: cpu"),
    ("cpu:3", r"one CPU device"),
])
def test_invalid_or_unavailable_values_name_what_is_available(machine, monkeypatch, value, message):
    machine(cuda=0, mps=False)
    monkeypatch.setenv("METAKIT_DEVICE", value)
    with pytest.raises(ValueError, match=message):
        device()


def test_missing_cuda_index_names_the_devices(machine, monkeypatch):
    machine(cuda=2, mps=False)
    monkeypatch.setenv("METAKIT_DEVICE", "cuda:2")
    with pytest.raises(ValueError, match=r"2 CUDA device\(s\) \(cuda:0 to cuda:1\); available here: cuda, cuda:0, cuda:1, cpu"):
        device()
    monkeypatch.delenv("METAKIT_DEVICE")
    with pytest.raises(ValueError, match=r"device\('cuda:5'\)"):
        device("cuda:5")


def test_describe_is_one_line_and_says_why(machine, monkeypatch):
    machine(cuda=0, mps=True)
    line = describe()
    assert line.startswith("mps (Apple GPU") and "chosen automatically" in line and "\n" not in line
    assert describe("cpu").startswith("cpu (") and "also available: mps" in describe("cpu")
    monkeypatch.setenv("METAKIT_DEVICE", "cpu")
    assert "set by METAKIT_DEVICE=cpu" in metakit.device.describe()


def test_resolve_and_device_of(machine):
    machine(cuda=0, mps=False)
    assert resolve(None) == torch.device("cpu") and resolve("cpu") == torch.device("cpu")
    assert device_of(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert device_of(torch.nn.ReLU()) == torch.device("cpu"), "no tensors: metakit.device()"

    class MamlLike:
        params = {"w": torch.zeros(1)}

    assert device_of(MamlLike()) == torch.device("cpu")


def test_import_metakit_stays_cheap():
    """`python -m metakit` and `import metakit` must not load torch (it loads on first use)."""
    code = "import sys, metakit, metakit.__main__; print('torch' in sys.modules, callable(metakit.device))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr


# ------------------------------------------------------------------------------ who uses it
LOOPS = {  # hard-coded "cpu" before; now None = metakit.device() (training, loading) or the model's device
    blackbox.train_blackbox: resolve, blackbox.evaluate_blackbox: device_of,
    fewshot.train_protonet: resolve, fewshot.evaluate_protonet: device_of,
    fewshot.train_maml: device_of, fewshot.evaluate_maml: device_of,
    multitask.train_multitask: resolve, multitask.train_independent: resolve,
    lm.load_pretrained: resolve, lm.sentence_classifier: resolve,
}
GRADER_FIXTURES = [blackbox.fit_fixed_batches, fewshot.conv4_init, lm.tiny_bert, lm.tiny_classifier]


def test_loops_default_to_metakit_device_and_grader_fixtures_stay_on_cpu():
    for function in LOOPS:
        assert inspect.signature(function).parameters["device"].default is None, function.__qualname__
    for function in GRADER_FIXTURES:
        assert inspect.signature(function).parameters["device"].default == "cpu", function.__qualname__


def test_default_loop_device_follows_metakit_device(monkeypatch):
    """train_multitask with no device= lands where metakit.device() says (patched to a marker)."""
    import metakit.device as chooser

    seen = []
    monkeypatch.setattr(chooser, "device", lambda preferred=None: seen.append(preferred) or torch.device("cpu"))
    from tests.test_hw0 import TinyMultiHead, tiny_charset, uniform_sampler, weighted_sum

    tasks = multitask.build_taskset(tiny_charset(), train_drawers=2, test_drawers=2)
    multitask.train_multitask(TinyMultiHead(tasks.num_tasks, tasks.num_outputs), tasks, uniform_sampler, weighted_sum,
                              steps=1, progress=False)
    assert seen == [None]


def test_graders_always_run_on_the_cpu(tmp_path):
    from metakit.grading.sandbox import worker_environment

    assert worker_environment("process", 1, tmp_path)["METAKIT_DEVICE"] == "cpu"
    runner = (REPO_ROOT / "metakit" / "grading" / "runner.py").read_text()
    assert '"METAKIT_DEVICE": "cpu"' in runner, "the grading pytest process pins the CPU too"


def test_kit_tests_run_on_the_cpu():
    assert metakit.device() == torch.device("cpu"), "tests/conftest.py pins METAKIT_DEVICE=cpu"


# ------------------------------------------------------------------------------ a real accelerator
def accelerator() -> torch.device | None:
    """The GPU this machine has (CUDA, else Apple's MPS), or None."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    return torch.device("mps") if mps is not None and mps.is_available() else None


@pytest.mark.accelerator
def test_each_homework_loop_trains_on_the_accelerator():
    """A few steps of every homework's loop on the GPU, with the reference solutions' pieces."""
    where = accelerator()
    if where is None:
        pytest.skip("no CUDA or MPS device here (metakit.device() would pick the CPU)")
    short_runs(where)


def test_the_accelerator_check_runs_on_the_cpu():
    """The same short runs on the CPU, so the accelerator check cannot rot where no GPU is (CI)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny models: one thread is fastest on a shared machine
    try:
        short_runs(torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)


def short_runs(where: torch.device) -> None:
    """A few steps of every homework's loop on ``where``, with the reference solutions' pieces."""
    from metakit.grading.authoring import notebook_module
    from metakit.textdata import EmbeddingEpisodeSampler
    from tests.test_hw0 import tiny_charset
    from tests.test_hw1 import blob_split

    def on(module_or_tensor) -> str:
        return device_of(module_or_tensor).type if not torch.is_tensor(module_or_tensor) else module_or_tensor.device.type

    solution = lambda hw: notebook_module(REPO_ROOT / "solutions" / hw / f"{hw}.ipynb", f"{hw}_on_{where.type}")  # noqa: E731

    # hw0: train_multitask and train_independent
    hw0 = solution("hw0")
    tasks = multitask.build_taskset(tiny_charset(), train_drawers=2, test_drawers=2)
    model = hw0.TaskConditionedNet(tasks.num_tasks, tasks.num_outputs, "concat", hidden=16)
    result = multitask.train_multitask(model, tasks, hw0.sample_task_batch, hw0.multitask_loss, steps=3,
                                       tasks_per_batch=2, batch_size=4, device=where, progress=False)
    assert on(model) == where.type and np.isfinite(result.losses).all()
    multitask.train_independent(tasks, steps_per_task=2, batch_size=4, hidden=8, device=where, progress=False)

    # hw1: train_blackbox (and evaluate_blackbox on the model's device)
    hw1 = solution("hw1")
    mann = hw1.MANN(2, 2, hidden_dim=16)
    run = blackbox.train_blackbox(hw1.make_mann_batch, mann, hw1.mann_loss, *blackbox.episode_samplers(blob_split(), 2, 1),
                                  steps=2, meta_batch=4, eval_every=2, eval_episodes=8, device=where, progress=False)
    assert on(mann) == where.type and np.isfinite(run.evaluation["loss"]).all()
    accuracy, _ = blackbox.evaluate_blackbox(hw1.make_mann_batch, mann, hw1.mann_loss,
                                             EpisodeSampler(blob_split().test.images, 2, 1, 1, seed=0),
                                             episodes=4, batch_size=4)
    assert 0.0 <= accuracy <= 1.0

    # hw2: ProtoNet and MAML loops
    hw2 = solution("hw2")
    images = np.random.default_rng(0).integers(0, 256, (12, 20, 28, 28), dtype=np.uint8)
    train = EpisodeSampler(images, ways=3, shots=1, queries=2, seed=0)
    val = EpisodeSampler(images, ways=3, shots=1, queries=2, seed=1)
    embedding = fewshot.ProtoNetEmbedding(hidden=8)
    history = fewshot.train_protonet(hw2.protonet_step, embedding, train, val, steps=2, meta_batch=2,
                                     eval_every=2, eval_episodes=2, device=where, progress=False)
    assert on(embedding) == where.type and history.steps == 2
    assert fewshot.evaluate_protonet(hw2.protonet_step, embedding, val, num_episodes=2, progress=False).accuracies.shape == (2,)
    maml = hw2.MAML(num_ways=3, hidden=4, learn_inner_lrs=True, seed=0, device=where)
    history = fewshot.train_maml(maml, train, val, steps=2, meta_batch=2, eval_every=2, eval_episodes=2, progress=False)
    assert history.steps == 2 and all(p.device.type == where.type for p in maml.params.values())
    assert fewshot.evaluate_maml(maml, val, num_episodes=2, progress=False).accuracies.shape == (2,)

    # hw3: fine-tuning a (tiny) BERT and meta-training the in-context classifier on embeddings
    hw3 = solution("hw3")
    classifier = lm.tiny_classifier(2, device=where)
    texts, labels = ["book a flight", "play a song", "flight status", "next song"], torch.tensor([0, 1, 0, 1])
    for mode in ("head", "lora"):
        model = lm.tiny_classifier(2, device=where)
        if mode == "lora":
            hw3.inject_lora(model, rank=2)
        losses = hw3.finetune(model, (texts, labels), mode, steps=2, batch_size=4)
        assert len(losses) == 2 and np.isfinite(losses).all() and on(model) == where.type
    embeddings = lm.embed_texts(classifier.encoder, classifier.tokenizer, texts * 3)
    assert on(embeddings) == where.type
    sampler = EmbeddingEpisodeSampler(embeddings.cpu(), [0, 1] * 6, ways=2, shots=2, queries=1, seed=0)
    in_context = hw3.InContextClassifier(embeddings.shape[1], 2, d_model=16, layers=1, heads=2)
    losses = hw3.meta_train_in_context(in_context, sampler, steps=2, batch_size=2, device=where)
    assert len(losses) == 2 and np.isfinite(losses).all() and on(in_context) == where.type
