"""meta_train_in_context ignores its lr argument (AdamW's default 1e-3).

catches: test_meta_train_arguments
"""
# %% grade_id: meta_train_in_context
# <<< reference
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
# === wrong
    optimizer = torch.optim.AdamW(model.parameters())
# >>>
