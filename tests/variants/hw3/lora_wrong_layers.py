"""inject_lora wraps every nn.Linear of the model, whatever the targets say.

catches: test_inject_lora_wraps_the_named_layers, test_injected_model_matches_peft, test_lora_mode
"""
# %% grade_id: inject_lora
# <<< reference
        if not any(name == t or name.endswith("." + t) for t in targets):
            continue
# === wrong
        pass
# >>>
