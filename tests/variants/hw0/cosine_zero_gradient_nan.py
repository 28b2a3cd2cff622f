"""No check for a zero gradient: 0 / 0 gives NaN instead of the documented 0.0.

catches: test_cosine_without_shared_parameters
"""
# %% grade_id: cosine
# <<< reference
    if float(norm_a) == 0.0 or float(norm_b) == 0.0:
        return 0.0
# === wrong
# >>>
