"""inject_lora wraps the key projection where the targets ask for the value projection.

catches: test_inject_lora_wraps_the_named_layers, test_injected_model_matches_peft, test_lora_mode
"""
# %% grade_id: inject_lora
# <<< reference
    targets = [targets] if isinstance(targets, str) else list(targets)
# === wrong
    targets = [targets] if isinstance(targets, str) else list(targets)
    targets = ["key" if t == "value" else t for t in targets]
# >>>
