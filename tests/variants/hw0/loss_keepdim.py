"""multitask_loss returns a tensor of shape [1], not a scalar.

catches: test_loss_weighted_sum, test_loss_default_weights
"""
# %% grade_id: loss
# <<< reference
    return (weights * losses).sum()
# === wrong
    return (weights * losses).sum(dim=0, keepdim=True)
# >>>
