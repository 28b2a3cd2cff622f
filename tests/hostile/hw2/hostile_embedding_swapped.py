"""Honest ProtoNet code, but a class body swaps the kit's ProtoNetEmbedding for pooled pixels at load.

Pooled pixels alone reach about 82% on the held-out glyph episodes, so a grader that scored the
embedding object of the worker would pass this without any training. The training test must fail
(the worker's embedding is not the kit's); the honest tests keep their points.

base: reference
catches: test_prototypes_class_means, test_protonet_step_loss_and_accuracies, test_protonet_training_learns
score: 5
"""
# %% grade_id: prototypes
import torch.nn as _nn


class PooledPixels(_nn.Module):
    """A fixed feature: 4x4 average pooling of the image (one dummy parameter so a loss has a graph)."""

    def __init__(self, hidden: int = 64, in_channels: int = 1, downsample: str = "stride") -> None:
        super().__init__()
        self.scale = _nn.Parameter(torch.ones(()))

    def forward(self, x):
        return F.avg_pool2d(x, 4).flatten(1) * self.scale


class _SwapEmbedding:
    from metakit import fewshot as _kit
    _kit.ProtoNetEmbedding = PooledPixels


def prototypes(features, labels, num_ways):
    one_hot = F.one_hot(labels, num_ways).to(features.dtype)
    return one_hot.T @ features / one_hot.sum(dim=0).unsqueeze(1)
