"""Correct alternative: masked-mean prototypes, broadcast norm logits, functional_call on the kit's Conv4.

catches: none
"""
# %% grade_id: prototypes
def prototypes(features: torch.Tensor, labels: torch.Tensor, num_ways: int) -> torch.Tensor:
    mask = (labels[None, :] == torch.arange(num_ways)[:, None]).to(features.dtype)    # [N, S]
    return (mask @ features) / mask.sum(dim=1, keepdim=True)

# %% grade_id: protonet_logits
def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    return -torch.linalg.vector_norm(query_features[:, None, :] - prototypes[None, :, :], dim=2) ** 2

# %% grade_id: protonet_step
def protonet_step(model: torch.nn.Module, task_batch: list) -> tuple:
    losses, s_acc, q_acc = [], [], []
    for support_x, support_y, query_x, query_y in task_batch:
        n = support_y.unique().numel()
        embedded = model(torch.cat([support_x, query_x]))
        s, q = embedded.split([len(support_x), len(query_x)])
        c = prototypes(s, support_y, n)
        logits = protonet_logits(q, c)
        losses.append(-torch.log_softmax(logits, dim=1).gather(1, query_y[:, None]).mean())
        s_acc.append(accuracy(protonet_logits(s, c), support_y))
        q_acc.append(accuracy(logits, query_y))
    return torch.mean(torch.stack(losses)), float(sum(s_acc) / len(s_acc)), float(sum(q_acc) / len(q_acc))

# %% grade_id: inner_loop
def inner_loop(params: dict, support_x: torch.Tensor, support_y: torch.Tensor, inner_lrs: dict,
               num_steps: int, create_graph: bool) -> tuple:
    net = fewshot.Conv4(params["head.bias"].shape[0], params["conv1.weight"].shape[0])
    adapted = dict(params)
    accuracies = []
    for _ in range(num_steps):
        logits = torch.func.functional_call(net, adapted, (support_x,))
        accuracies.append(accuracy(logits, support_y))
        grads = torch.autograd.grad(F.cross_entropy(logits, support_y), tuple(adapted.values()),
                                    create_graph=create_graph)
        adapted = {k: v - inner_lrs[k] * g for (k, v), g in zip(adapted.items(), grads)}
    accuracies.append(accuracy(torch.func.functional_call(net, adapted, (support_x,)).detach(), support_y))
    return adapted, accuracies

# %% grade_id: maml_outer_step
class MAML(MAMLBase):
    def outer_step(self, task_batch: list, train: bool = True) -> tuple:
        second_order = train and not self.first_order
        outs = [self._task(task, second_order) for task in task_batch]
        meta_loss = torch.stack([o[0] for o in outs]).mean()
        if train:
            self.optimizer.zero_grad(set_to_none=True)
            meta_loss.backward()
            self.optimizer.step()
        support = np.mean([o[1] for o in outs], axis=0)
        return meta_loss.detach(), support, float(np.mean([o[2] for o in outs]))

    def _task(self, task, create_graph: bool):
        support_x, support_y, query_x, query_y = task
        adapted, accs = inner_loop(self.params, support_x, support_y, self.inner_lrs, self.num_inner_steps,
                                   create_graph)
        logits = conv4_forward(adapted, query_x)
        return F.cross_entropy(logits, query_y), accs, accuracy(logits, query_y)
