"""LoRALinear refuses rank 1 (rank < 2 raises), the smallest rank the markdown allows.

catches: test_fresh_lora_layer_equals_base
"""
# %% grade_id: lora_linear
# <<< reference
        if rank < 1:
# === wrong
        if rank < 2:
# >>>
