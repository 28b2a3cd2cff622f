"""Chosen parameters are unfrozen, but the others are never frozen again: switching modes leaks.

catches: test_head_and_all_modes, test_last_k_mode
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
    for p in model.parameters():
        p.requires_grad_(id(p) in wanted)
# === wrong
    for p in model.parameters():
        if id(p) in wanted:
            p.requires_grad_(True)
# >>>
