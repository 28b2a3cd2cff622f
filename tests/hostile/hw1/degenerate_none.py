"""Every graded function returns None (and forward also leaves its labels alone).

base: release
score: 0
catches: test_batch_shapes_and_one_hot, test_loss_value, test_mann_output_shape, test_forward_leaves_labels_unchanged, test_training_reaches_accuracy
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return None


# %% grade_id: mann
class MANN(nn.Module):
    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
        self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return None


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return None
