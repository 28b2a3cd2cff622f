"""Softmax without subtracting the row maximum overflows on large logits.

catches: test_softmax_large_logits
"""
# %% grade_id: softmax
# <<< reference
    shifted = logits - logits.max(dim=-1, keepdim=True).values
# === wrong
    shifted = logits
# >>>
