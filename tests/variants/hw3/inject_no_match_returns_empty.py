"""inject_lora returns an empty list instead of raising a ValueError when no layer matches.

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
    if not wrapped:
        raise ValueError(f"inject_lora: no nn.Linear named {targets} in the model")
# === wrong
    pass
# >>>
