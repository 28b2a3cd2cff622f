""""all" mode lists every parameter and then the head again (the head appears twice).

catches: test_head_and_all_modes
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = list(model.parameters())
# === wrong
        chosen = list(model.parameters()) + head
# >>>
# <<< reference
    return [p for p in model.parameters() if id(p) in wanted]
# === wrong
    return chosen
# >>>
