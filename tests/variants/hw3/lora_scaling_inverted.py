"""LoRA scales the update by rank / alpha instead of alpha / rank.

catches: test_lora_matches_peft, test_injected_model_matches_peft
"""
# %% grade_id: lora_linear
# <<< reference
        self.scaling = self.alpha / self.rank
# === wrong
        self.scaling = self.rank / self.alpha
# >>>
