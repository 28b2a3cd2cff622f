"""inject_lora matches any name that ends with the target's letters ("uery" wraps the query layers).

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
        if not any(name == t or name.endswith("." + t) for t in targets):
# === wrong
        if not any(name.endswith(t) for t in targets):
# >>>
