"""meta_train_in_context never calls model.train(): a model handed over in eval mode trains without dropout.

catches: test_meta_train_arguments
"""
# %% grade_id: meta_train_in_context
# <<< reference
    model.to(device).train()
# === wrong
    model.to(device)
# >>>
