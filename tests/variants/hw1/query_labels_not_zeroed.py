"""The query labels are fed to the network (not zeroed): it can read the answers.

catches: test_query_labels_are_hidden, test_mann_forward_matches_the_two_lstms, test_training_reaches_accuracy
"""
# %% grade_id: mann
# <<< reference
        visible[:, -1] = 0.0
# === wrong
# >>>
