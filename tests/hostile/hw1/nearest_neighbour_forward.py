"""MANN.forward ignores its LSTMs and scores each query by pixel distance to the support images
(a fixed rule that solves easy held-out episodes without any learning); the rest is honest.

base: reference
score: 16
catches: test_mann_output_shape, test_mann_layer_sizes, test_mann_initialisation, test_mann_forward_matches_the_two_lstms, test_mann_gradients_reach_both_layers, test_query_labels_are_hidden, test_support_labels_are_read, test_forward_leaves_labels_unchanged, test_training_reaches_accuracy
"""
# %% grade_id: mann
class MANN(nn.Module):
    """Looks like the MANN, answers by nearest neighbour."""

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
        support, support_labels = images[:, :-1].flatten(1, 2), labels[:, :-1].flatten(1, 2)  # [B, K*N, .]
        distance = torch.cdist(images[:, -1], support)  # [B, N, K*N]
        scores = -distance @ support_labels / support_labels.sum(1, keepdim=True)  # [B, N, N]
        out = torch.zeros_like(labels)
        out[:, -1] = scores
        tie = sum(p.sum() for p in self.parameters()) * 0.0  # so the loss has a graph to backpropagate
        return out + tie
