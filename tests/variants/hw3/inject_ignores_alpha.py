"""inject_lora always uses alpha = 2 * rank, even when alpha is given.

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
    alpha = 2 * rank if alpha is None else alpha
# === wrong
    alpha = 2 * rank
# >>>
