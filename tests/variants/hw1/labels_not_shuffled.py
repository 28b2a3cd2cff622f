"""The query images are shuffled but their labels stay in class order.

catches: test_query_row_images_and_labels_agree
"""
# %% grade_id: make_mann_batch
# <<< reference
    query_labels = eye[order]  # [B, N, N]: row j is the label of the query now at position j
# === wrong
    query_labels = eye.expand(batch, ways, ways)
# >>>
