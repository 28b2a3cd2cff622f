"""Accuracy that predicts with argmin.

catches: test_accuracy
"""
# %% grade_id: accuracy
# <<< reference
    return (logits.argmax(dim=-1) == labels).float().mean().item()
# === wrong
    return (logits.argmin(dim=-1) == labels).float().mean().item()
# >>>
