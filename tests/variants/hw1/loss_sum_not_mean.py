"""The loss sums the query cross-entropies instead of averaging them.

catches: test_loss_value, test_loss_gradient_only_on_query_row
"""
# %% grade_id: mann_loss
# <<< reference
    return F.cross_entropy(logits, targets)
# === wrong
    return F.cross_entropy(logits, targets, reduction="sum")
# >>>
