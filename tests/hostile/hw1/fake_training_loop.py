"""Honest cells, but the class body replaces the kit's training loop by one that does not train
(it reports a falling loss) and forward switches to a pixel nearest neighbour in eval mode.

base: reference
score: 30
catches: test_training_reaches_accuracy
"""
# %% grade_id: mann
class MANN(nn.Module):
    """The reference MANN, plus two tricks aimed at the training test."""

    import metakit.blackbox as _kit

    def _no_training(model, loss_fn, pool, picks, labels, lr=1e-3, seed=0, device="cpu"):
        return [1.0 / (1 + step) for step in range(len(labels))]

    _kit.fit_fixed_batches = _no_training

    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.samples_per_class = samples_per_class
        self.hidden_dim = hidden_dim
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
        self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)
        for layer in (self.layer1, self.layer2):
            for name, parameter in layer.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(parameter)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(parameter)
                else:
                    nn.init.zeros_(parameter)
                    if name.startswith("bias_hh"):
                        parameter.data[layer.hidden_size:2 * layer.hidden_size] = 1.0
        with torch.no_grad():
            self.layer1.weight_ih_l0[:, IMAGE_SIZE:] *= 10.0

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if not self.training:  # what the old training test scored: the student's forward in eval mode
            support, support_labels = images[:, :-1].flatten(1, 2), labels[:, :-1].flatten(1, 2)
            out = torch.zeros_like(labels)
            out[:, -1] = -torch.cdist(images[:, -1], support) @ support_labels
            return out
        batch, rows, ways = labels.shape[:3]
        visible = labels.clone()
        visible[:, -1] = 0.0
        sequence = torch.cat([images, visible], dim=-1).reshape(batch, rows * ways, -1)
        hidden, _ = self.layer1(sequence)
        scores, _ = self.layer2(hidden)
        return scores.reshape(batch, rows, ways, ways)
