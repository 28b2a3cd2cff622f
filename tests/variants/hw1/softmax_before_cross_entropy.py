"""A softmax is applied before F.cross_entropy (which applies log-softmax itself).

catches: test_loss_value, test_loss_gradient_only_on_query_row
"""
# %% grade_id: mann_loss
# <<< reference
    return F.cross_entropy(logits, targets)
# === wrong
    return F.cross_entropy(torch.softmax(logits, dim=-1), targets)
# >>>
