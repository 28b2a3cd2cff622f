"""LoRA forgets the alpha / rank scaling of the low-rank update.

catches: test_lora_matches_peft, test_lora_gradients, test_injected_model_matches_peft
"""
# %% grade_id: lora_linear
# <<< reference
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling
# === wrong
        return self.base(x) + x @ self.lora_A.T @ self.lora_B.T
# >>>
