"""Degenerate answers on the untouched release: the in-context classifier returns zeros of the right shape
(trivially invariant to every reordering and relabelling), and meta-training returns zero losses after
switching to eval mode. Nothing is computed, so nothing scores.

catches: none
tests: test_output_shape, test_labels_are_read, test_size_arguments, test_meta_train_arguments, test_learns_easy_episodes, test_invariant_to_relabelling
base: release
score: 0
"""
# %% grade_id: in_context_classifier
class InContextClassifier(nn.Module):
    """Zeros of the right shape."""

    def __init__(self, embed_dim: int, ways: int, d_model: int = 128, layers: int = 2, heads: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.ways = ways
        self.unused = nn.Linear(1, 1)

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return query.new_zeros(query.shape[0], query.shape[1], self.ways)

# %% grade_id: meta_train_in_context
def meta_train_in_context(model, sampler, steps: int, batch_size: int = 16, lr: float = 1e-3, device="cpu",
                          progress: bool = False) -> list[float]:
    """Nothing."""
    for _ in range(steps):
        sampler.sample(batch_size)
    model.eval()
    return [0.0] * steps
