"""LoRALinear adds the base layer's bias by hand, which fails on Llama's projections (they have no bias).

catches: test_lora_on_llama, test_finetune_causal_lm_trains_only_adapters
"""
# %% grade_id: lora_linear
# <<< reference
        return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling
# === wrong
        return x @ self.base.weight.T + self.base.bias + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling
# >>>
