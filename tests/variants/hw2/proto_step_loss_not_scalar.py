"""protonet_step returns the loss with shape [1], not a scalar (0-d) tensor.

catches: test_protonet_step_random_tasks
"""
# %% grade_id: protonet_step
# <<< reference
    return torch.stack(losses).mean(), float(np.mean(support_accs)), float(np.mean(query_accs))
# === wrong
    return torch.stack(losses).mean().reshape(1), float(np.mean(support_accs)), float(np.mean(query_accs))
# >>>
