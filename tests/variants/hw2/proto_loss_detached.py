"""protonet_step's loss is rebuilt from a float: the right value, but no gradient reaches the model.

catches: test_protonet_step_gradient, test_protonet_training_learns
"""
# %% grade_id: protonet_step
# <<< reference
    return torch.stack(losses).mean(), float(np.mean(support_accs)), float(np.mean(query_accs))
# === wrong
    loss = torch.tensor(torch.stack(losses).mean().item(), requires_grad=True)
    return loss, float(np.mean(support_accs)), float(np.mean(query_accs))
# >>>
