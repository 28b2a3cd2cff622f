"""Noise of the right shapes: a batch of random pixels and labels drawn from the generator
(deterministic, and new every call), a forward that returns random scores, a loss that is a random
function of the scores. Changes of the inputs "change the output", seeds repeat: nothing else.

base: release
score: 0
catches: test_batch_shapes_and_one_hot, test_batch_uses_the_generator, test_loss_value, test_loss_gradient_only_on_query_row, test_mann_output_shape, test_query_labels_are_hidden, test_support_labels_are_read, test_forward_leaves_labels_unchanged, test_training_reaches_accuracy
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    batch, ways, shots = episodes.support.shape[:3]
    images = torch.rand(batch, shots + 1, ways, IMAGE_SIZE, generator=generator)
    order = torch.rand(batch, shots + 1, ways, generator=generator).argsort(dim=-1)
    return images, torch.eye(ways)[order]


# %% grade_id: mann
class MANN(nn.Module):
    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
        self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        tie = 0.0 * sum(p.sum() for p in self.parameters())
        return torch.randn(labels.shape) + tie


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (preds[:, -1] * torch.rand(preds[:, -1].shape)).mean()
