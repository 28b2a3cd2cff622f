"""LoRA's B starts at small random values instead of zero: the adapted layer no longer computes the
pre-trained function at the start.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, device=weight.device, dtype=weight.dtype))
# === wrong
        self.lora_B = nn.Parameter(0.01 * torch.randn(base.out_features, rank, device=weight.device, dtype=weight.dtype))
# >>>
