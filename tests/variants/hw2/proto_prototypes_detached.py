"""prototypes are computed from detached features: no gradient flows through the support embeddings.

catches: test_prototypes_differentiable, test_protonet_step_gradient
"""
# %% grade_id: prototypes
# <<< reference
    return one_hot.T @ features / counts
# === wrong
    return one_hot.T @ features.detach() / counts
# >>>
