"""A correct alternative in-context classifier: the token map split into a linear map of the embedding plus
an nn.Embedding of the label, initialised like that map's columns (the same as one linear map of [e; one-hot(y)], with a zero label part for
queries), pre-norm layers with a wider feed-forward and no final norm, an additive float mask; meta-training with
log_softmax + nll_loss.

catches: none
tests: test_output_shape, test_queries_do_not_see_each_other, test_support_is_a_set, test_labels_are_read, test_size_arguments, test_meta_train_arguments, test_learns_easy_episodes, test_invariant_to_relabelling, test_attention_mask_and_device, test_meta_train_defaults_progress_and_device
"""
# %% grade_id: in_context_classifier
class InContextClassifier(nn.Module):
    """forward(support [B, S, D], support_labels [B, S] int64, query [B, Q, D]) -> logits [B, Q, ways]"""

    def __init__(self, embed_dim: int, ways: int, d_model: int = 128, layers: int = 2, heads: int = 4,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.ways = ways
        self.embed = nn.Linear(embed_dim, d_model)
        self.label = nn.Embedding(ways, d_model)
        bound = 1 / math.sqrt(embed_dim + ways)  # the columns of one linear map of [e; one-hot(y)]
        nn.init.uniform_(self.label.weight, -bound, bound)
        nn.init.uniform_(self.embed.weight, -bound, bound)
        nn.init.uniform_(self.embed.bias, -bound, bound)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        self.readout = nn.Linear(d_model, ways)

    def forward(self, support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        s, q = support.shape[1], query.shape[1]
        tokens = torch.cat([self.embed(support) + self.label(support_labels.long()), self.embed(query)], dim=1)
        n = s + q
        allowed = torch.zeros(n, n, dtype=torch.bool, device=support.device)
        allowed[:, :s] = True
        allowed |= torch.eye(n, dtype=torch.bool, device=support.device)
        allowed[:s, s:] = False
        mask = torch.zeros(n, n, dtype=tokens.dtype, device=support.device).masked_fill(~allowed, float("-inf"))
        return self.readout(self.body(tokens, mask=mask)[:, s:])

# %% grade_id: meta_train_in_context
def meta_train_in_context(model: InContextClassifier, sampler, steps: int, batch_size: int = 16,
                          lr: float = 1e-3, device="cpu", progress: bool = False) -> list[float]:
    """Meta-train on sampler.sample(batch_size) episodes; returns the training losses."""
    model = model.to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    out = []
    for _ in range(steps):
        batch = sampler.sample(batch_size).to(device)
        logits = model(batch.support, batch.support_labels, batch.query)
        loss = F.nll_loss(F.log_softmax(logits, dim=-1).flatten(0, 1), batch.query_labels.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    model.eval()
    return out
