"""Softmax normalised over the first axis instead of the last.

catches: test_softmax_values, test_softmax_last_axis
"""
# %% grade_id: softmax
# <<< reference
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    exp = torch.exp(shifted)
    return exp / exp.sum(dim=-1, keepdim=True)
# === wrong
    shifted = logits - logits.max(dim=0, keepdim=True).values
    exp = torch.exp(shifted)
    return exp / exp.sum(dim=0, keepdim=True)
# >>>
