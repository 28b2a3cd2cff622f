"""inject_lora freezes every pre-trained parameter (the docstring: it changes no other requires_grad).

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
    wrapped = []
# === wrong
    wrapped = []
    for p in model.parameters():
        p.requires_grad_(False)
# >>>
