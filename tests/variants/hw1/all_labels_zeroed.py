"""Every label is zeroed, support labels included (it still learns: class order gives the support labels away).

catches: test_support_labels_are_read, test_mann_forward_matches_the_two_lstms
"""
# %% grade_id: mann
# <<< reference
        visible[:, -1] = 0.0
# === wrong
        visible[:] = 0.0
# >>>
