"""inject_lora wraps every nn.Linear of the model, whatever the targets say (the extra adapters start
at zero, so the outputs match; the names and the trainable count give it away).

catches: test_inject_lora_wraps_the_named_layers, test_lora_mode
"""
# %% grade_id: inject_lora
# <<< reference
        if not any(name == t or name.endswith("." + t) for t in targets):
            continue
# === wrong
        pass
# >>>
