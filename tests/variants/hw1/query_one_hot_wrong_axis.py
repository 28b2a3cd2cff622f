"""The query labels are one-hot along the wrong axis (the transposed permutation).

catches: test_query_row_images_and_labels_agree
"""
# %% grade_id: make_mann_batch
# <<< reference
    query_labels = eye[order]  # [B, N, N]: row j is the label of the query now at position j
# === wrong
    query_labels = eye[order].transpose(1, 2)
# >>>
