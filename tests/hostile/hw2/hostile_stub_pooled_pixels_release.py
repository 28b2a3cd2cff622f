"""A non-learning ProtoNet on the release: pooled-pixel prototypes (ignoring the model), a loss with a
zero gradient, and the kit's ProtoNetEmbedding and train_protonet replaced at load.

base: release
catches: test_protonet_step_loss_and_accuracies, test_protonet_step_uses_model_as_given, test_protonet_training_learns
score: 0
"""
# %% grade_id: protonet_step
import torch.nn as _nn


class _Pixels(_nn.Module):
    def __init__(self, hidden: int = 64, in_channels: int = 1, downsample: str = "stride") -> None:
        super().__init__()
        self.scale = _nn.Parameter(torch.ones(()))

    def forward(self, x):
        return F.avg_pool2d(x, 4).flatten(1) * self.scale


class _Patch:
    from metakit import fewshot as _kit
    _kit.ProtoNetEmbedding = _Pixels
    _kit.train_protonet = lambda *args, **kwargs: None


def protonet_step(model, task_batch):
    accs = []
    for sx, sy, qx, qy in task_batch:
        fs, fq = F.avg_pool2d(sx, 4).flatten(1), F.avg_pool2d(qx, 4).flatten(1)
        n = int(sy.max()) + 1
        protos = torch.stack([fs[sy == k].mean(0) for k in range(n)])
        accs.append(float(((-torch.cdist(fq, protos)).argmax(1) == qy).float().mean()))
    zero = sum(p.sum() for p in model.parameters()) * 0.0
    return zero, 1.0, float(np.mean(accs))
