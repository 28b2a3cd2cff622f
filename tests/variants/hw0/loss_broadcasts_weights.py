"""multitask_loss reshapes or broadcasts weights of the wrong shape instead of raising.

catches: test_loss_rejects_mismatched_weights
"""
# %% grade_id: loss
# <<< reference
    if weights.shape != losses.shape:
# === wrong
    if weights.numel() == 1:
        weights = weights.expand_as(losses)
    weights = weights.reshape(-1)
    if weights.shape != losses.shape:
# >>>
