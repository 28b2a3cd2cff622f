"""Raw nn.Parameter matrices used as x @ W (inputs first), stacked per-task tensors and einsum; the loss as a dot product.

catches: none
"""
# %% grade_id: model
class TaskConditionedNet(MultiTaskNet):
    """One network for T tasks, conditioned on the one-hot task descriptor z in one of five ways.

    forward(x [B, 1, 28, 28], z [B, T]) -> outputs [B, num_outputs]
    """

    def __init__(self, num_tasks: int, num_outputs: int, conditioning: str = "concat", hidden: int = 64):
        super().__init__()
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"unknown conditioning {conditioning!r}; use one of " + ", ".join(CONDITIONINGS))
        self.mode, self.T, self.O, self.H = conditioning, num_tasks, num_outputs, hidden

        def param(*shape, fan_in):
            return nn.Parameter(torch.randn(*shape) / fan_in ** 0.5)

        t, o, h = num_tasks, num_outputs, hidden
        if conditioning == "independent":
            self.w1, self.b1 = param(t, 784, h, fan_in=784), param(t, h, fan_in=784)
            self.w2, self.b2 = param(t, h, h, fan_in=h), param(t, h, fan_in=h)
            self.w3, self.b3 = param(t, h, o, fan_in=h), param(t, o, fan_in=h)
            return
        self.w1 = param(784 + (t if conditioning == "concat" else 0), h, fan_in=784)
        self.b1 = param(h, fan_in=784)
        if conditioning in ("additive", "multiplicative"):
            self.wz = param(t, h, fan_in=t)
        self.w2, self.b2 = param(h, h, fan_in=h), param(h, fan_in=h)
        if conditioning == "multihead":
            self.w3, self.b3 = param(t, h, o, fan_in=h), param(t, o, fan_in=h)
        else:
            self.w3, self.b3 = param(h, o, fan_in=h), param(o, fan_in=h)

    def forward(self, x, z):
        x = x.flatten(1)
        z = z.to(x.dtype)
        if self.mode == "independent":
            h1 = torch.relu(torch.einsum("bi,tih->bth", x, self.w1) + self.b1)
            h2 = torch.relu(torch.einsum("bth,thk->btk", h1, self.w2) + self.b2)
            out = torch.einsum("btk,tko->bto", h2, self.w3) + self.b3
            return torch.einsum("bt,bto->bo", z, out)
        if self.mode == "concat":
            h1 = torch.relu(torch.cat([x, z], 1) @ self.w1 + self.b1)
        elif self.mode == "additive":
            h1 = torch.relu(x @ self.w1 + self.b1 + z @ self.wz)
        elif self.mode == "multiplicative":
            h1 = torch.relu(x @ self.w1 + self.b1) * (z @ self.wz)
        else:
            h1 = torch.relu(x @ self.w1 + self.b1)
        h2 = torch.relu(h1 @ self.w2 + self.b2)
        if self.mode == "multihead":
            return torch.einsum("bt,bh,tho->bo", z, h2, self.w3) + z @ self.b3
        return h2 @ self.w3 + self.b3

    def shared_parameters(self):
        if self.mode == "independent":
            return []
        shared = [self.w1, self.b1, self.w2, self.b2]
        return shared if self.mode == "multihead" else shared + [self.w3, self.b3]
# %% grade_id: loss
def multitask_loss(per_task_losses, weights=None):
    """sum_k w_k L_k as a dot product."""
    if weights is None:
        return per_task_losses.sum()
    weights = torch.as_tensor(weights).to(per_task_losses)
    if tuple(weights.shape) != tuple(per_task_losses.shape):
        raise ValueError(f"shapes differ: weights {tuple(weights.shape)}, losses {tuple(per_task_losses.shape)}")
    return torch.dot(weights, per_task_losses)
