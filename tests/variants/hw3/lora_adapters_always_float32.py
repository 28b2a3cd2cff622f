"""LoRALinear creates A and B as float32 whatever the dtype of the base layer.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device, dtype=weight.dtype))
# === wrong
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device))
# >>>
# <<< reference
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
# === wrong
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device))
# >>>
