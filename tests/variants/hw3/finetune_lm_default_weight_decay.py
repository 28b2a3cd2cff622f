"""finetune_causal_lm builds AdamW without weight_decay=0.0, so PyTorch's default 0.01 shrinks the adapters every step.

catches: test_finetune_causal_lm_follows_the_documented_loop
"""
# %% grade_id: finetune_causal_lm
# <<< reference
    optimizer = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0)
# === wrong
    optimizer = torch.optim.AdamW(trained, lr=lr)
# >>>
