"""The support set [B, N, K, ...] is reshaped to [B, K, N, ...] without swapping axes.

catches: test_support_rows_in_class_order, test_no_class_twice_in_a_row
"""
# %% grade_id: make_mann_batch
# <<< reference
    support = episodes.support.permute(0, 2, 1, 3, 4).reshape(batch, shots, ways, IMAGE_SIZE)
# === wrong
    support = episodes.support.reshape(batch, shots, ways, IMAGE_SIZE)
# >>>
