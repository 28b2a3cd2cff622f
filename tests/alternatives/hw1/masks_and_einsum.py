"""A correct alternative: gather with index tensors, a multiplicative mask on the labels, flatten
and unflatten, the label scaling as a column mask, and the loss as -(onehot * log_softmax) averaged.

catches: none
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay B N-way K-shot episodes (one query per class) out for the MANN (see the markdown)."""
    support, query = episodes.support, episodes.query
    b, n, k = support.shape[:3]
    support_rows = support.flatten(3).transpose(1, 2)  # [B, K, N, 784]
    keys = torch.rand(b, n, generator=generator)
    order = torch.argsort(keys, dim=-1).to(query.device)  # [B, N]
    query_row = torch.gather(query.flatten(2), 1, order.unsqueeze(-1).expand(b, n, IMAGE_SIZE))  # [B, N, 784]
    images = torch.cat([support_rows, query_row.unsqueeze(1)], 1)
    identity = torch.eye(n, device=query.device)
    labels = torch.cat([identity.repeat(b, k, 1, 1), identity.index_select(0, order.flatten()).view(b, 1, n, n)], 1)
    return images.contiguous().float(), labels.float()


# %% grade_id: mann
class MANN(nn.Module):
    """MANN(num_classes=N, samples_per_class=K+1, hidden_dim); forward -> scores [B, K+1, N, N]."""

    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.samples_per_class = samples_per_class
        self.hidden_dim = hidden_dim
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
        self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)
        for layer in (self.layer1, self.layer2):
            for name, parameter in layer.named_parameters():
                if "weight_ih" in name:
                    nn.init.xavier_uniform_(parameter)
                elif "weight_hh" in name:
                    nn.init.orthogonal_(parameter)
                elif "bias_ih" in name:
                    nn.init.zeros_(parameter)
                else:
                    h = layer.hidden_size
                    with torch.no_grad():
                        parameter.zero_()
                        parameter[h:2 * h] = 1.0
        with torch.no_grad():
            scale = torch.ones(IMAGE_SIZE + num_classes)
            scale[IMAGE_SIZE:] = 10.0
            self.layer1.weight_ih_l0.mul_(scale)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """images [B, K+1, N, 784], labels [B, K+1, N, N] one-hot -> scores [B, K+1, N, N]."""
        b, r, n = labels.shape[:3]
        mask = torch.ones(1, r, 1, 1, dtype=labels.dtype, device=labels.device)
        mask[:, -1] = 0.0
        x = torch.cat([images, labels * mask], dim=-1).flatten(1, 2)  # [B, (K+1)N, 784+N]
        h1 = self.layer1(x)[0]
        h2 = self.layer2(h1)[0]
        return h2.unflatten(1, (r, n))


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the query row. preds, labels: [B, K+1, N, N] -> scalar tensor."""
    query_scores, query_labels = preds[:, -1], labels[:, -1]
    per_query = -(query_labels * torch.log_softmax(query_scores, dim=-1)).sum(dim=-1)  # [B, N]
    return per_query.mean()
