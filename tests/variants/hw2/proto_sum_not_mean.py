"""Prototypes are class sums, not class means.

catches: test_prototypes_class_means, test_prototypes_any_label_order
"""
# %% grade_id: prototypes
# <<< reference
    return one_hot.T @ features / counts
# === wrong
    return one_hot.T @ features
# >>>
