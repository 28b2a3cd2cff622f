""""lora" mode returns the head before the adapters (not in model.parameters() order).

catches: test_lora_mode
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = lora + head
# === wrong
        chosen = head + lora
# >>>
# <<< reference
    return [p for p in model.parameters() if id(p) in wanted]
# === wrong
    return chosen
# >>>
