"""meta_train_in_context moves the model to device but leaves each batch where the sampler made it.

catches: test_meta_train_defaults_progress_and_device
"""
# %% grade_id: meta_train_in_context
# <<< reference
        episodes = sampler.sample(batch_size).to(device)
# === wrong
        episodes = sampler.sample(batch_size)
# >>>
