"""protonet_logits averages the squared differences over the D features instead of summing them.

catches: test_protonet_logits_negative_squared_distance, test_protonet_logits_random_sweep, test_protonet_step_loss_and_accuracies
"""
# %% grade_id: protonet_logits
# <<< reference
    return -(differences ** 2).sum(dim=-1)
# === wrong
    return -(differences ** 2).mean(dim=-1)
# >>>
