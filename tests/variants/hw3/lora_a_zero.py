"""LoRA's A and B both start at zero: every gradient is zero and the adapters never move.

catches: test_fresh_lora_layer_equals_base, test_lora_gradients
"""
# %% grade_id: lora_linear
# <<< reference
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
# === wrong
        nn.init.zeros_(self.lora_A)
# >>>
