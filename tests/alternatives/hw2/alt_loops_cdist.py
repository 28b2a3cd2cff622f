"""Correct alternative: per-class loop prototypes, cdist logits, stacked features, zero_grad after the step.

catches: none
"""
# %% grade_id: prototypes
def prototypes(features: torch.Tensor, labels: torch.Tensor, num_ways: int) -> torch.Tensor:
    return torch.stack([features[labels == n].mean(dim=0) for n in range(num_ways)])

# %% grade_id: protonet_logits
def protonet_logits(query_features: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    return -torch.cdist(query_features, prototypes, compute_mode="donot_use_mm_for_euclid_dist").pow(2)

# %% grade_id: protonet_step
def protonet_step(model: torch.nn.Module, task_batch: list) -> tuple:
    results = []
    for sx, sy, qx, qy in task_batch:
        feats = model(torch.cat([qx, sx], dim=0))             # queries first this time
        qf, sf = feats[: len(qx)], feats[len(qx):]
        protos = prototypes(sf, sy, int(sy.max().item()) + 1)
        q_logits = protonet_logits(qf, protos)
        results.append((F.cross_entropy(q_logits, qy, reduction="sum") / len(qy),
                        accuracy(protonet_logits(sf, protos), sy), accuracy(q_logits, qy)))
    loss = sum(r[0] for r in results) / len(results)
    return loss, sum(r[1] for r in results) / len(results), sum(r[2] for r in results) / len(results)

# %% grade_id: inner_loop
def inner_loop(params: dict, support_x: torch.Tensor, support_y: torch.Tensor, inner_lrs: dict,
               num_steps: int, create_graph: bool) -> tuple:
    phi = {k: v for k, v in params.items()}
    accs = []
    step = 0
    while step < num_steps:
        out = conv4_forward(phi, support_x)
        accs.append(accuracy(out, support_y))
        loss = F.cross_entropy(out, support_y)
        keys = sorted(phi)                                   # any order works: gradients go by name
        grads = dict(zip(keys, torch.autograd.grad(loss, [phi[k] for k in keys], create_graph=create_graph)))
        phi = {k: phi[k] - inner_lrs[k] * grads[k] for k in params}
        step += 1
    accs.append(accuracy(conv4_forward(phi, support_x).detach(), support_y))
    return phi, accs

# %% grade_id: maml_outer_step
class MAML(MAMLBase):
    def outer_step(self, task_batch: list, train: bool = True) -> tuple:
        losses, s_accs, q_accs = [], [], []
        for sx, sy, qx, qy in task_batch:
            phi, accs = inner_loop(self.params, sx, sy, self.inner_lrs, self.num_inner_steps,
                                   create_graph=train and not self.first_order)
            logits = conv4_forward(phi, qx)
            losses.append(F.cross_entropy(logits, qy))
            s_accs.append(accs)
            q_accs.append(accuracy(logits, qy))
        meta_loss = sum(losses) / len(losses)
        if train:
            meta_loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()                       # zeroed after the step instead of before
        return meta_loss, np.array(s_accs).mean(axis=0), float(np.mean(q_accs))
