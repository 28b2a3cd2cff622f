"""multitask_loss returns a number cut off from the graph: nothing trains.

catches: test_loss_weighted_sum, test_multitask_training
"""
# %% grade_id: loss
# <<< reference
    return (weights * losses).sum()
# === wrong
    return torch.tensor(float((weights * losses).sum()), requires_grad=True)
# >>>
