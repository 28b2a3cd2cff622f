"""multitask_loss averages the weighted losses instead of summing them.

catches: test_loss_weighted_sum, test_loss_default_weights
"""
# %% grade_id: loss
# <<< reference
    return (weights * losses).sum()
# === wrong
    return (weights * losses).mean()
# >>>
