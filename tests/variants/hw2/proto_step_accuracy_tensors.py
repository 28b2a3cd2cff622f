"""protonet_step returns its accuracies as tensors, not the Python floats the docstring asks for.

catches: test_protonet_step_random_tasks
"""
# %% grade_id: protonet_step
# <<< reference
    return torch.stack(losses).mean(), float(np.mean(support_accs)), float(np.mean(query_accs))
# === wrong
    return (torch.stack(losses).mean(), torch.tensor(support_accs).mean(), torch.tensor(query_accs).mean())
# >>>
