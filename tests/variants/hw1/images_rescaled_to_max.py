"""The images are divided by their largest pixel "to make sure they are in [0, 1]" (they change).

catches: test_support_rows_in_class_order, test_no_class_twice_in_a_row
"""
# %% grade_id: make_mann_batch
# <<< reference
    return images.float(), labels.float()
# === wrong
    return (images / images.max()).float(), labels.float()
# >>>
