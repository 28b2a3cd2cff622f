"""meta_train_in_context's batch_size defaults to 32 instead of the documented 16.

catches: test_meta_train_defaults_progress_and_device
"""
# %% grade_id: meta_train_in_context
# <<< reference
def meta_train_in_context(model: InContextClassifier, sampler, steps: int, batch_size: int = 16,
# === wrong
def meta_train_in_context(model: InContextClassifier, sampler, steps: int, batch_size: int = 32,
# >>>
