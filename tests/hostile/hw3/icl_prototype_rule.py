"""An in-context classifier that is a fixed rule: nearest class mean (no transformer), with one learnable
temperature so that meta-training has something to move. Its forward is a genuine function of the
support, so the structural tests of the forward pass keep their points (graded here: output shape and labels,
2 points; queries and set would add 3); the tests that need a meta-*learned* transformer with its documented arguments (size
arguments, meta-training arguments with dropout, learning, relabelling: 10 points) give none, since an
untrained model already scores far above chance. The rest is the reference.

catches: none
tests: test_output_shape, test_labels_are_read, test_size_arguments, test_meta_train_arguments, test_learns_easy_episodes, test_invariant_to_relabelling
base: reference
score: 2
"""
# %% grade_id: in_context_classifier
class InContextClassifier(nn.Module):
    """Nearest class mean with a learnable temperature."""

    def __init__(self, embed_dim: int, ways: int, d_model: int = 128, layers: int = 2, heads: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.ways = ways
        self.temperature = nn.Parameter(torch.tensor(1.0))

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        onehot = F.one_hot(support_labels.long(), self.ways).to(support.dtype)
        means = onehot.transpose(1, 2) @ support / onehot.sum(1).clamp_min(1).unsqueeze(-1)
        return -self.temperature * torch.cdist(query, means) ** 2
