"""A correct alternative: permutations drawn from the generator one episode at a time as
torch.randperm, advanced indexing with a labels-first layout build, a per-row LSTM call that
carries the state across rows, and the loss as nll_loss of log_softmax.

catches: none
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay B N-way K-shot episodes (one query per class) out for the MANN (see the markdown)."""
    batch, ways, shots = episodes.support.shape[:3]
    device = episodes.support.device
    orders = torch.stack([torch.randperm(ways, generator=generator) for _ in range(batch)]).to(device)
    labels = torch.zeros(batch, shots + 1, ways, ways, device=device)
    labels[:, :shots] = torch.eye(ways, device=device)
    labels[torch.arange(batch, device=device)[:, None], shots, torch.arange(ways, device=device)[None, :], orders] = 1.0
    images = torch.empty(batch, shots + 1, ways, IMAGE_SIZE, device=device)
    images[:, :shots] = episodes.support.reshape(batch, ways, shots, IMAGE_SIZE).permute(0, 2, 1, 3)
    images[:, shots] = episodes.query.reshape(batch, ways, IMAGE_SIZE)[torch.arange(batch, device=device)[:, None], orders]
    return images, labels


# %% grade_id: mann
class MANN(nn.Module):
    """Black-box meta-learner: two LSTM layers read an episode as a sequence of (image, label)."""

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
        """images [B, K+1, N, 784], labels [B, K+1, N, N] one-hot -> scores [B, K+1, N, N]."""
        rows = labels.shape[1]
        state1 = state2 = None
        outputs = []
        for row in range(rows):  # one row at a time, the LSTM state carried over: the same sequence
            row_labels = labels[:, row] if row < rows - 1 else torch.zeros_like(labels[:, row])
            step = torch.cat([images[:, row], row_labels], dim=-1)  # [B, N, 784+N]
            hidden, state1 = self.layer1(step, state1)
            scores, state2 = self.layer2(hidden, state2)
            outputs.append(scores)
        return torch.stack(outputs, dim=1)


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the query row. preds, labels: [B, K+1, N, N] -> scalar tensor."""
    n = preds.shape[-1]
    log_probs = F.log_softmax(preds[:, -1].reshape(-1, n), dim=1)
    return F.nll_loss(log_probs, labels[:, -1].reshape(-1, n).max(dim=1).indices)
