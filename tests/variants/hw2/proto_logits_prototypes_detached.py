"""protonet_logits detaches the prototypes: the loss no longer trains the embedding through the support set.

catches: test_protonet_logits_differentiable, test_protonet_step_gradient
"""
# %% grade_id: protonet_logits
# <<< reference
    differences = query_features.unsqueeze(1) - prototypes.unsqueeze(0)   # [M, N, D]
# === wrong
    differences = query_features.unsqueeze(1) - prototypes.detach().unsqueeze(0)   # [M, N, D]
# >>>
