"""LoRALinear stores scaling as a 0-d tensor, not the number alpha / rank the docstring names.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        self.scaling = self.alpha / self.rank
# === wrong
        self.scaling = torch.tensor(self.alpha / self.rank)
# >>>
