"""mann_loss squeezes the logits "to be safe": with one class (N = 1) cross_entropy gets the wrong shapes.

catches: test_loss_value
"""
# %% grade_id: mann_loss
# <<< reference
    return F.cross_entropy(logits, targets)
# === wrong
    return F.cross_entropy(logits.squeeze(), targets.squeeze())
# >>>
