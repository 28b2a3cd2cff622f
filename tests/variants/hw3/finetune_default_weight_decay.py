"""finetune's AdamW keeps its default weight decay (0.01) instead of weight_decay=0.

catches: test_finetune_modes_and_edge_cases, test_finetune_follows_the_documented_loop
"""
# %% grade_id: finetune
# <<< reference
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0, fused=model.device.type in ("cpu", "cuda"))
# === wrong
    optimizer = torch.optim.AdamW(groups, fused=model.device.type in ("cpu", "cuda"))
# >>>
