"""ProtoNet logits are positive squared distances: the farthest prototype wins.

catches: test_protonet_logits_negative_squared_distance, test_protonet_step_loss_and_accuracies, test_protonet_training_learns
"""
# %% grade_id: protonet_logits
# <<< reference
    return -(differences ** 2).sum(dim=-1)
# === wrong
    return (differences ** 2).sum(dim=-1)
# >>>
