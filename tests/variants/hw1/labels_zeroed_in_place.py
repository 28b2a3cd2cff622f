"""The query labels are zeroed in place, so the loss then sees zeros as the targets.

catches: test_forward_leaves_labels_unchanged, test_training_reaches_accuracy
"""
# %% grade_id: mann
# <<< reference
        visible = labels.clone()
# === wrong
        visible = labels
# >>>
