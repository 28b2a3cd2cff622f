"""The query classes are read along the wrong axis of the one-hot labels.

catches: test_loss_value
"""
# %% grade_id: mann_loss
# <<< reference
    targets = labels[:, -1].reshape(-1, ways).argmax(dim=-1)
# === wrong
    targets = labels[:, -1].argmax(dim=-2).reshape(-1)
# >>>
