"""lora_A and lora_B made on the CPU whatever the base layer's device: the first forward on a GPU fails.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, device=weight.device, dtype=weight.dtype))
# === wrong
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, dtype=weight.dtype))
# >>>
# <<< reference
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
# === wrong
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, dtype=weight.dtype))
# >>>
