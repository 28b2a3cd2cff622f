"""Constants of the right shapes and dtypes everywhere: zero images with identity labels, a zero
forward, a zero loss that still has a graph. Nothing is computed, so nothing scores.

base: release
score: 0
catches: test_batch_shapes_and_one_hot, test_batch_uses_the_generator, test_loss_value, test_loss_gradient_only_on_query_row, test_mann_output_shape, test_mann_layer_sizes, test_mann_initialisation, test_query_labels_are_hidden, test_support_labels_are_read, test_forward_leaves_labels_unchanged, test_training_reaches_accuracy
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    batch, ways, shots = episodes.support.shape[:3]
    images = torch.zeros(batch, shots + 1, ways, IMAGE_SIZE)
    labels = torch.eye(ways).expand(batch, shots + 1, ways, ways).clone()
    return images, labels


# %% grade_id: mann
class MANN(nn.Module):
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
        return torch.zeros_like(labels) + 0.0 * sum(p.sum() for p in self.parameters())


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (preds * 0.0).sum()
