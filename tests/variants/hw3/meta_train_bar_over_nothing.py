"""With progress=True, meta_train_in_context builds a tqdm bar over no iterable and fails.

catches: test_meta_train_defaults_progress_and_device
"""
# %% grade_id: meta_train_in_context
# <<< reference
        iterator = tqdm(iterator, desc="meta-training", unit="step")
# === wrong
        iterator = tqdm(desc="meta-training", unit="step")
# >>>
