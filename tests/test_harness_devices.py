"""``output_devices`` / ``devices_verdict``: on PyTorch's meta device, a CPU-only grader tells code that
keeps its outputs on its inputs' device from code that makes tensors on the CPU."""
from __future__ import annotations

import pytest
import torch

from metakit.episodes import Episodes
from metakit.grading.harness import (devices_verdict, encoder_masks, move_submodule, output_devices,
                                     parameter_info, require_inputs_on_device)


def _episodes() -> Episodes:
    return Episodes(torch.rand(2, 3, 1, 28, 28), torch.rand(2, 3, 1, 28, 28), torch.zeros(2, 3, dtype=torch.long))


def follows(episodes: Episodes) -> tuple[torch.Tensor, torch.Tensor]:
    return episodes.support.flatten(2), torch.eye(3, device=episodes.support.device).expand(2, 3, 3)


def makes_on_cpu(episodes: Episodes) -> tuple[torch.Tensor, torch.Tensor]:
    return episodes.support.flatten(2), torch.eye(3).expand(2, 3, 3)


def mixes(episodes: Episodes) -> torch.Tensor:
    return torch.cat([episodes.support.flatten(1), torch.zeros(2, 1)], dim=1)


def reads_values(episodes: Episodes) -> torch.Tensor:
    return episodes.support.flatten(1)[:, : int(episodes.classes.max().item()) + 1]


def stub(episodes: Episodes) -> None:
    raise NotImplementedError("replace this with your code")


def test_the_verdicts() -> None:
    assert devices_verdict(output_devices(follows, _episodes())) == "ok"
    assert devices_verdict(output_devices(makes_on_cpu, _episodes())) == "outputs on ['meta', 'cpu'] for inputs on meta"
    assert "expected device" in devices_verdict(output_devices(mixes, _episodes())) or \
        "same device" in devices_verdict(output_devices(mixes, _episodes()))
    assert devices_verdict(output_devices(reads_values, _episodes())) == "inconclusive", "correct code may read values"
    assert devices_verdict(output_devices(stub, _episodes())).startswith("it raised NotImplementedError")


def test_keyword_tensors_and_plain_tensors_move_too() -> None:
    assert output_devices(lambda x, y: (x + y, y), torch.ones(2), y=torch.ones(2)) == ["meta", "meta"]
    assert output_devices(lambda x: x, torch.ones(2), device="cpu") == ["cpu"]


def test_an_error_that_only_mentions_metakit_is_not_inconclusive() -> None:
    """Only PyTorch's meta-tensor errors are inconclusive: any other exception (here one whose message
    says "metakit", as the validity tool's probe does) is a failure of the function under test."""
    def probe(episodes: Episodes) -> torch.Tensor:
        raise RuntimeError("metakit validity probe: this function was replaced by a probe")

    verdict = devices_verdict(output_devices(probe, _episodes()))
    assert verdict.startswith("it raised RuntimeError"), verdict
    assert devices_verdict(["error: RuntimeError: Tensor.item() cannot be called on meta tensors"]) == "inconclusive"


def test_a_model_can_be_made_to_refuse_inputs_off_its_device_as_a_gpu_would() -> None:
    embedding = torch.nn.Embedding(10, 4).to("meta")
    ids = torch.tensor([[1, 2]])
    assert embedding(ids).device.type == "meta", "on meta, a CPU index goes through without a word"
    require_inputs_on_device(embedding)
    assert embedding(ids.to("meta")).device.type == "meta"

    def cpu_ids(model: torch.nn.Module) -> torch.Tensor:
        return model(torch.tensor([[1, 2]]))

    def keyword_ids(model: torch.nn.Module) -> torch.Tensor:
        return model(input=torch.tensor([[1, 2]]))

    for fn in (cpu_ids, keyword_ids):
        verdict = devices_verdict(output_devices(fn, embedding))
        assert verdict.startswith("it raised RuntimeError: the model got") and "on cpu, but its parameters are on meta" in verdict


def test_parameters_named_answers_to_every_name_of_a_tied_parameter():
    from metakit.causal_lm import tiny_llama
    from metakit.grading.harness import parameters_named

    model, _ = tiny_llama(seed=0)
    head, embeddings, norm = parameters_named(model, ["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"])
    assert head is embeddings is model.lm_head.weight
    assert norm is model.model.norm.weight
    with pytest.raises(KeyError, match="model.nothing"):
        parameters_named(model, ["model.norm.weight", "model.nothing"])


class _Encoded(torch.nn.Module):
    """A linear map and a one-layer nn.TransformerEncoder, called with whatever mask it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.input = torch.nn.Linear(3, 8)
        block = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(block, 1, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, positional: bool = False) -> torch.Tensor:
        hidden = self.input(x)
        return self.encoder(hidden, mask) if positional else self.encoder(hidden, mask=mask)


def test_encoder_masks_reads_the_mask_each_encoder_call_gets() -> None:
    model, x = _Encoded().eval(), torch.randn(2, 4, 3)
    blocked = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    [got] = encoder_masks(model, x, blocked)
    assert got.dtype == bool and (got == blocked.numpy()).all()
    [positional] = encoder_masks(model, x, blocked, positional=True)  # mask given as the second argument
    assert (positional == blocked.numpy()).all()
    additive = torch.zeros(4, 4).masked_fill(blocked, float("-inf"))
    assert (encoder_masks(model, x, additive)[0] == blocked.numpy()).all()
    large_negative = torch.zeros(4, 4).masked_fill(blocked, -1e9)
    assert (encoder_masks(model, x, large_negative)[0] == blocked.numpy()).all()
    assert encoder_masks(model, x) == [None]
    assert encoder_masks(torch.nn.Linear(3, 2), x) == []
    assert not any(module._forward_pre_hooks for module in model.modules()), "the hooks are removed"


def test_move_submodule_puts_the_outputs_and_the_models_device_on_meta() -> None:
    from metakit.lm import tiny_classifier

    model = move_submodule(tiny_classifier(3, hidden=16, layers=1, heads=2, intermediate=32), "head")
    assert model.device == torch.device("meta") and model.encoder.embeddings.word_embeddings.weight.device.type == "cpu"
    logits = model(["red apple", "fast car"])
    assert logits.device.type == "meta" and logits.shape == (2, 3)
    with pytest.raises(RuntimeError, match="expected device"):  # labels left on the CPU meet the logits
        torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]))
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1], device=model.device))


def test_parameter_info_names_each_parameters_device() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 2, device="meta"))
    devices = {name: info["device"] for name, info in parameter_info(model).items()}
    assert devices == {"0.weight": "cpu", "0.bias": "cpu", "1.weight": "meta", "1.bias": "meta"}
