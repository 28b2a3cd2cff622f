"""The loss averages the cross-entropy of every row, support rows included.

catches: test_loss_value, test_loss_gradient_only_on_query_row
"""
# %% grade_id: mann_loss
# <<< reference
    logits = preds[:, -1].reshape(-1, ways)
    targets = labels[:, -1].reshape(-1, ways).argmax(dim=-1)
# === wrong
    logits = preds.reshape(-1, ways)
    targets = labels.reshape(-1, ways).argmax(dim=-1)
# >>>
