"""nn.Sequential blocks declared in another order (task layers first), a functional gate; the kit's mlp for independent nets; an einsum loss.

catches: none
"""
# %% grade_id: model
class TaskConditionedNet(MultiTaskNet):
    def __init__(self, num_tasks, num_outputs, conditioning="concat", hidden=64):
        super().__init__()
        valid = ("independent", "concat", "additive", "multihead", "multiplicative")
        if conditioning not in valid:
            raise ValueError(f"{conditioning!r} is not a conditioning; choose from {valid}")
        self.kind = conditioning
        if conditioning in ("additive", "multiplicative"):
            self.z_map = nn.Linear(num_tasks, hidden, bias=False)
            if conditioning == "multiplicative":
                nn.init.normal_(self.z_map.weight, 1.0, 0.1)
        if conditioning == "independent":
            self.towers = nn.ModuleList(mlp(784, hidden, num_outputs) for _ in range(num_tasks))
            return
        if conditioning == "multihead":
            self.towers = nn.ModuleList(nn.Linear(hidden, num_outputs) for _ in range(num_tasks))
        self.first = nn.Linear(784 + num_tasks * (conditioning == "concat"), hidden)
        self.trunk = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())
        if conditioning != "multihead":
            self.last = nn.Linear(hidden, num_outputs)

    def forward(self, x, z):
        x = torch.flatten(x, start_dim=1)
        z = z.type_as(x)
        if self.kind == "independent":
            return sum(z[:, t:t + 1] * tower(x) for t, tower in enumerate(self.towers))
        if self.kind == "concat":
            h = torch.relu(self.first(torch.cat((x, z), dim=-1)))
        elif self.kind == "additive":
            h = torch.relu(self.first(x) + self.z_map(z))
        elif self.kind == "multiplicative":
            h = self.z_map(z) * torch.relu(self.first(x))
        else:
            h = torch.relu(self.first(x))
        h = self.trunk(h)
        if self.kind == "multihead":
            return sum(z[:, t:t + 1] * tower(h) for t, tower in enumerate(self.towers))
        return self.last(h)

    def shared_parameters(self):
        if self.kind == "independent":
            return []
        modules = [self.first, self.trunk] + ([] if self.kind == "multihead" else [self.last])
        return [p for m in modules for p in m.parameters()]
# %% grade_id: sampler
def sample_task_batch(task_sizes, num_tasks, batch_size, generator, proportional=False):
    sizes = torch.tensor(list(task_sizes), dtype=torch.long)
    if sizes.numel() == 0 or bool((sizes <= 0).any()) or num_tasks <= 0 or batch_size <= 0:
        raise ValueError(f"bad sampler input: sizes {sizes.tolist()}, num_tasks {num_tasks}, batch_size {batch_size}")
    weights = sizes.double() if proportional else torch.ones(len(sizes), dtype=torch.float64)
    task_ids = torch.multinomial(weights, num_tasks, replacement=True, generator=generator)
    examples = []
    for t in task_ids:
        n = int(sizes[t])
        examples.append(torch.multinomial(torch.ones(n), min(batch_size, n), replacement=False, generator=generator))
    return task_ids, examples
# %% grade_id: loss
def multitask_loss(per_task_losses, weights=None):
    if weights is None:
        weights = torch.ones(per_task_losses.shape, dtype=per_task_losses.dtype)
    weights = torch.as_tensor(weights, dtype=per_task_losses.dtype)
    if weights.shape != per_task_losses.shape:
        raise ValueError(f"weights {list(weights.shape)} do not match the losses {list(per_task_losses.shape)}")
    return torch.einsum("k,k->", weights, per_task_losses)
