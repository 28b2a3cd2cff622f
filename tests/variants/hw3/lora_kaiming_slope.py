"""lora_A drawn with kaiming_uniform_(a=math.sqrt(6)): a narrower range than nn.Linear's init (a=sqrt(5)).

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
# === wrong
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(6))
# >>>
