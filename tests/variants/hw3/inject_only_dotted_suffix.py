"""inject_lora matches only names that end with "." + target, never a name that is the target itself.

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
        if not any(name == t or name.endswith("." + t) for t in targets):
# === wrong
        if not any(name.endswith("." + t) for t in targets):
# >>>
