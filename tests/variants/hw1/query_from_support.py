"""The query row repeats the first support drawing instead of the query drawing.

catches: test_query_row_images_and_labels_agree
"""
# %% grade_id: make_mann_batch
# <<< reference
    query = episodes.query[:, :, 0].reshape(batch, ways, IMAGE_SIZE)
# === wrong
    query = episodes.support[:, :, 0].reshape(batch, ways, IMAGE_SIZE)
# >>>
