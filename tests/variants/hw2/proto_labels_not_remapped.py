"""Prototypes from blocks of rows (assumes way-major order) instead of the rows labelled n.

catches: test_prototypes_any_label_order
"""
# %% grade_id: prototypes
# <<< reference
    one_hot = F.one_hot(labels, num_ways).to(features.dtype)          # [S, N]
    counts = one_hot.sum(dim=0).unsqueeze(1)                          # [N, 1]
    return one_hot.T @ features / counts
# === wrong
    return features.reshape(num_ways, -1, features.shape[-1]).mean(dim=1)
# >>>
