"""Task ids as int32 instead of the documented int64.

catches: test_sampler_return_types
"""
# %% grade_id: sampler
# <<< reference
    return task_ids, example_ids
# === wrong
    return task_ids.int(), example_ids
# >>>
