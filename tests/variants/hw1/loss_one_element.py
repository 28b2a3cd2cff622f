"""mann_loss returns a tensor of shape [1] instead of a scalar (shape []).

catches: test_loss_value
"""
# %% grade_id: mann_loss
# <<< reference
    return F.cross_entropy(logits, targets)
# === wrong
    return F.cross_entropy(logits, targets).reshape(1)
# >>>
