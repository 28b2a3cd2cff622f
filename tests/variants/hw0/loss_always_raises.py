"""multitask_loss always raises ValueError (the 'rejects' test must not pass on that alone).

catches: test_loss_rejects_mismatched_weights, test_loss_weighted_sum, test_loss_default_weights
"""
# %% grade_id: loss
def multitask_loss(per_task_losses, weights=None):
    raise ValueError("weights and per-task losses differ in shape")
