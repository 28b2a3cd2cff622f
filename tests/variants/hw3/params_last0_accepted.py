""""last0" is accepted (only the upper bound on k is checked) and trains the head alone.

catches: test_bad_modes_raise_value_error
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        if not 1 <= k <= len(blocks):
# === wrong
        if k > len(blocks):
# >>>
