"""meta_train_in_context moves each batch to device but never the model.

catches: test_meta_train_defaults_progress_and_device
"""
# %% grade_id: meta_train_in_context
# <<< reference
    model.to(device).train()
# === wrong
    model.train()
# >>>
