"""meta_train_in_context always samples 16 episodes a step, whatever batch_size says.

catches: test_meta_train_arguments
"""
# %% grade_id: meta_train_in_context
# <<< reference
        episodes = sampler.sample(batch_size).to(device)
# === wrong
        episodes = sampler.sample(16).to(device)
# >>>
