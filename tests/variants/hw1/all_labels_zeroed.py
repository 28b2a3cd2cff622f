"""Every label is zeroed, support labels included: the network cannot learn the task.

catches: test_support_labels_are_read, test_mann_forward_matches_the_two_lstms, test_training_reaches_accuracy
"""
# %% grade_id: mann
# <<< reference
        visible[:, -1] = 0.0
# === wrong
        visible[:] = 0.0
# >>>
