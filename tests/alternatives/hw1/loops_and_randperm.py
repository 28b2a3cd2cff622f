"""A correct alternative: loops over episodes with torch.randperm, zero labels by concatenation,
the init per gate block with the forget gate's 1 in bias_ih, the loss from log_softmax and gather.

catches: none
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay B N-way K-shot episodes (one query per class) out for the MANN (see the markdown)."""
    batch, ways, shots = episodes.support.shape[:3]
    device = episodes.support.device
    all_images, all_labels = [], []
    for b in range(batch):
        rows, row_labels = [], []
        for k in range(shots):
            rows.append(torch.stack([episodes.support[b, j, k].flatten() for j in range(ways)]))
            row_labels.append(torch.eye(ways, device=device))
        order = torch.randperm(ways, generator=generator).to(device)
        rows.append(torch.stack([episodes.query[b, int(j), 0].flatten() for j in order]))
        row_labels.append(F.one_hot(order, ways).float())
        all_images.append(torch.stack(rows))
        all_labels.append(torch.stack(row_labels))
    return torch.stack(all_images).to(torch.float32), torch.stack(all_labels).to(torch.float32)


# %% grade_id: mann
class MANN(nn.Module):
    """Two LSTMs read an episode as a sequence of (image, label) pairs."""

    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.samples_per_class = samples_per_class
        self.hidden_dim = hidden_dim
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
        self.layer2 = nn.LSTM(hidden_dim, num_classes, batch_first=True)
        for layer in (self.layer2, self.layer1):  # another order, and another reading of the same text:
            size = layer.hidden_size              # each gate's block initialised on its own, and the
            with torch.no_grad():                 # forget gate's 1 in bias_ih (the gates see bias_ih + bias_hh)
                for gate in range(4):
                    nn.init.orthogonal_(layer.weight_hh_l0[gate * size:(gate + 1) * size])
                    nn.init.xavier_uniform_(layer.weight_ih_l0[gate * size:(gate + 1) * size])
                layer.bias_ih_l0.copy_(torch.cat([torch.zeros(size), torch.ones(size), torch.zeros(2 * size)]))
                layer.bias_hh_l0.zero_()
        with torch.no_grad():
            self.layer1.weight_ih_l0[:, IMAGE_SIZE:].mul_(10)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """images [B, K+1, N, 784], labels [B, K+1, N, N] one-hot -> scores [B, K+1, N, N]."""
        batch, rows, ways, _ = labels.shape
        visible = torch.cat([labels[:, :-1], torch.zeros_like(labels[:, -1:])], dim=1)
        sequence = torch.cat((images, visible), dim=3).view(batch, rows * ways, IMAGE_SIZE + ways)
        out1 = self.layer1(sequence)[0]
        out2 = self.layer2(out1)[0]
        return out2.view(batch, rows, ways, ways)


# %% grade_id: mann_loss
def mann_loss(preds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the query row. preds, labels: [B, K+1, N, N] -> scalar tensor."""
    log_probs = F.log_softmax(preds[:, -1], dim=-1)  # [B, N, N]
    targets = labels[:, -1].argmax(dim=-1, keepdim=True)  # [B, N, 1]
    return -log_probs.gather(-1, targets).mean()
