"""Row 0 (a support row) is zeroed instead of row K, the query row.

catches: test_query_labels_are_hidden, test_support_labels_are_read
"""
# %% grade_id: mann
# <<< reference
        visible[:, -1] = 0.0
# === wrong
        visible[:, 0] = 0.0
# >>>
