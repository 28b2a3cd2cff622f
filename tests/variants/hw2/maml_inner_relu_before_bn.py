"""inner_loop runs its own conv4 with the ReLU before batch norm instead of conv4_forward (conv, BN, ReLU).

catches: test_inner_loop_one_step_is_sgd, test_inner_loop_random_sweep
"""
# %% grade_id: inner_loop
def _my_conv4(params, x):
    h = x
    for i in range(1, 5):
        h = F.conv2d(h, params[f"conv{i}.weight"], stride=2, padding=1)
        h = F.relu(h)
        h = F.batch_norm(h, None, None, params[f"bn{i}.weight"], params[f"bn{i}.bias"], training=True)
    return F.linear(h.flatten(1), params["head.weight"], params["head.bias"])


def inner_loop(params: dict, support_x: torch.Tensor, support_y: torch.Tensor, inner_lrs: dict,
               num_steps: int, create_graph: bool) -> tuple:
    adapted = dict(params)
    accuracies = []
    for _ in range(num_steps):
        logits = _my_conv4(adapted, support_x)
        loss = F.cross_entropy(logits, support_y)
        accuracies.append(accuracy(logits, support_y))
        grads = torch.autograd.grad(loss, list(adapted.values()), create_graph=create_graph)
        adapted = {name: value - inner_lrs[name] * grad for (name, value), grad in zip(adapted.items(), grads)}
    with torch.no_grad():
        accuracies.append(accuracy(_my_conv4(adapted, support_x), support_y))
    return adapted, accuracies
