"""finetune_causal_lm optimises every parameter of the model, not only the adapters.

catches: test_finetune_causal_lm_trains_only_adapters
"""
# %% grade_id: finetune_causal_lm
# <<< reference
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0)
# === wrong
    for p in model.parameters():
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
# >>>
