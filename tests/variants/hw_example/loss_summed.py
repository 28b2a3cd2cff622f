"""Cross-entropy summed over the batch instead of averaged.

catches: test_cross_entropy_value, test_cross_entropy_gradient
"""
# %% grade_id: cross_entropy
# <<< reference
    return -log_probs.gather(1, labels.view(-1, 1)).mean()
# === wrong
    return -log_probs.gather(1, labels.view(-1, 1)).sum()
# >>>
