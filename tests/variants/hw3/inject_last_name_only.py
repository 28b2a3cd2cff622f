"""inject_lora compares only the last part of a name with the targets, so a dotted target ("self.query") matches nothing.

catches: test_inject_lora_matching_rules
"""
# %% grade_id: inject_lora
# <<< reference
        if not any(name == t or name.endswith("." + t) for t in targets):
# === wrong
        if name.rpartition(".")[2] not in targets:
# >>>
