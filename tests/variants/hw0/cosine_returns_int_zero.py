"""task_gradient_cosine returns the int 0 (not the float 0.0) when nothing is shared.

catches: test_cosine_without_shared_parameters
"""
# %% grade_id: cosine
# <<< reference
    if not shared:
        return 0.0
# === wrong
    if not shared:
        return 0
# >>>
