"""prototypes always returns float32, whatever the dtype of the features (the docstring says: their dtype).

catches: test_prototypes_random_sweep
"""
# %% grade_id: prototypes
# <<< reference
    one_hot = F.one_hot(labels, num_ways).to(features.dtype)          # [S, N]
    counts = one_hot.sum(dim=0).unsqueeze(1)                          # [N, 1]
    return one_hot.T @ features / counts
# === wrong
    one_hot = F.one_hot(labels, num_ways).float()                     # [S, N]
    counts = one_hot.sum(dim=0).unsqueeze(1)                          # [N, 1]
    return one_hot.T @ features.float() / counts
# >>>
