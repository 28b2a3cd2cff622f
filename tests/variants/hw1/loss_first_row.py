"""The loss scores row 0 (a support row) instead of row K.

catches: test_loss_value, test_loss_gradient_only_on_query_row
"""
# %% grade_id: mann_loss
# <<< reference
    logits = preds[:, -1].reshape(-1, ways)
    targets = labels[:, -1].reshape(-1, ways).argmax(dim=-1)
# === wrong
    logits = preds[:, 0].reshape(-1, ways)
    targets = labels[:, 0].reshape(-1, ways).argmax(dim=-1)
# >>>
