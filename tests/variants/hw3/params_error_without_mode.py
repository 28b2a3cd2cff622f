"""The ValueError for an unknown mode does not say which mode was given.

catches: test_bad_modes_raise_value_error
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        raise ValueError(f"unknown mode {mode!r}: use 'head', 'last<k>', 'all' or 'lora'")
# === wrong
        raise ValueError("unknown mode: use 'head', 'last<k>', 'all' or 'lora'")
# >>>
