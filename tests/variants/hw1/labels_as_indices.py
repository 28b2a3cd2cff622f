"""Labels are returned as class indices [B, K+1, N] instead of one-hot.

catches: test_batch_shapes_and_one_hot
"""
# %% grade_id: make_mann_batch
# <<< reference
    return images.float(), labels.float()
# === wrong
    return images.float(), labels.argmax(dim=-1).float()
# >>>
