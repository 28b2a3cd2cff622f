"""LoRALinear's forward recomputes alpha / rank instead of reading self.scaling (which the grader sets).

catches: test_lora_matches_peft
"""
# %% grade_id: lora_linear
# <<< reference
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling
# === wrong
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * (self.alpha / self.rank)
# >>>
