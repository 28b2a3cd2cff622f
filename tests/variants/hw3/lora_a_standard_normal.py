"""LoRA's A starts at standard-normal values (std 1), not nn.Linear's kaiming-uniform initialisation.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
# === wrong
        nn.init.normal_(self.lora_A)
# >>>
