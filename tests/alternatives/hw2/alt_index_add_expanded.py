"""Correct alternative: index_add prototypes, expanded-square logits, two forward passes, own loops.

catches: none
"""
# %% grade_id: prototypes
def prototypes(features: torch.Tensor, labels: torch.Tensor, num_ways: int) -> torch.Tensor:
    sums = torch.zeros(num_ways, features.shape[1], dtype=features.dtype).index_add(0, labels, features)
    counts = torch.bincount(labels, minlength=num_ways).to(features.dtype)
    return sums / counts[:, None]

# %% grade_id: protonet_logits
def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    # -||q - c||^2 = 2 q.c - ||q||^2 - ||c||^2
    cross = query_features @ prototypes.T
    return 2 * cross - (query_features ** 2).sum(1, keepdim=True) - (prototypes ** 2).sum(1)[None, :]

# %% grade_id: protonet_step
def protonet_step(model: torch.nn.Module, task_batch: list) -> tuple:
    total, support_total, query_total = 0.0, 0.0, 0.0
    for support_x, support_y, query_x, query_y in task_batch:
        num_ways = len(torch.unique(support_y))
        support_f = model(support_x)
        query_f = model(query_x)
        protos = prototypes(support_f, support_y, num_ways)
        logits = protonet_logits(query_f, protos)
        total = total + F.cross_entropy(logits, query_y)
        support_pred = protonet_logits(support_f, protos).argmax(1)
        support_total += (support_pred == support_y).double().mean().item()
        query_total += (logits.argmax(1) == query_y).double().mean().item()
    count = len(task_batch)
    return total / count, support_total / count, query_total / count

# %% grade_id: inner_loop
def inner_loop(params: dict, support_x: torch.Tensor, support_y: torch.Tensor, inner_lrs: dict,
               num_steps: int, create_graph: bool) -> tuple:
    names = list(params)
    current = [params[n] for n in names]
    accuracies = []
    for _ in range(num_steps):
        logits = conv4_forward(dict(zip(names, current)), support_x)
        accuracies.append(float((logits.argmax(-1) == support_y).float().mean()))
        grads = torch.autograd.grad(F.cross_entropy(logits, support_y), current, create_graph=create_graph)
        current = [p - inner_lrs[n] * g for n, p, g in zip(names, current, grads)]
    adapted = dict(zip(names, current))
    with torch.no_grad():
        accuracies.append(float((conv4_forward(adapted, support_x).argmax(-1) == support_y).float().mean()))
    return adapted, accuracies

# %% grade_id: maml_outer_step
class MAML(MAMLBase):
    def outer_step(self, task_batch: list, train: bool = True) -> tuple:
        create_graph = bool(train) and not self.first_order
        total = 0.0
        support_sum = np.zeros(self.num_inner_steps + 1)
        query_sum = 0.0
        for support_x, support_y, query_x, query_y in task_batch:
            adapted, accs = inner_loop(self.params, support_x, support_y, self.inner_lrs,
                                       self.num_inner_steps, create_graph)
            logits = conv4_forward(adapted, query_x)
            total = total + F.cross_entropy(logits, query_y)
            support_sum += np.asarray(accs)
            query_sum += accuracy(logits, query_y)
        meta_loss = total / len(task_batch)
        if train:
            self.optimizer.zero_grad()
            meta_loss.backward()
            self.optimizer.step()
        count = len(task_batch)
        return meta_loss.detach(), list(support_sum / count), query_sum / count
