"""LoRALinear leaves the wrapped layer's weight and bias trainable.

catches: test_lora_layer_freezes_base, test_lora_gradients
"""
# %% grade_id: lora_linear
# <<< reference
        for p in self.base.parameters():
            p.requires_grad_(False)
# === wrong
        pass
# >>>
