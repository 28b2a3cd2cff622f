"""multitask_loss ignores the weights: the plain sum of the losses.

catches: test_loss_weighted_sum
"""
# %% grade_id: loss
# <<< reference
    return (weights * losses).sum()
# === wrong
    return losses.sum()
# >>>
