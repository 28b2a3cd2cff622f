"""inject_lora's default alpha is the rank (scaling 1) instead of 2 * rank.

catches: test_injected_model_matches_peft
"""
# %% grade_id: inject_lora
# <<< reference
    alpha = 2 * rank if alpha is None else alpha
# === wrong
    alpha = rank if alpha is None else alpha
# >>>
