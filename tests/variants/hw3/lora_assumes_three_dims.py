"""LoRALinear's update assumes inputs [B, T, in] (x.view(B, -1, in)); other shapes break or broadcast wrongly.

catches: test_lora_matches_peft
"""
# %% grade_id: lora_linear
# <<< reference
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling
# === wrong
        update = x.view(x.shape[0], -1, x.shape[-1]) @ self.lora_A.T @ self.lora_B.T
        return self.base(x) + update * self.scaling
# >>>
