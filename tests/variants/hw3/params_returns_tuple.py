"""parameters_to_fine_tune returns a tuple, not the list the docstring asks for.

catches: test_head_and_all_modes, test_last_k_mode, test_lora_mode
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
    return [p for p in model.parameters() if id(p) in wanted]
# === wrong
    return tuple(p for p in model.parameters() if id(p) in wanted)
# >>>
