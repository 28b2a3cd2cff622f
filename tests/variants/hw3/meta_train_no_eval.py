"""meta_train_in_context leaves the model in train mode.

catches: test_meta_train_arguments, test_learns_easy_episodes
"""
# %% grade_id: meta_train_in_context
# <<< reference
    model.eval()
    return losses
# === wrong
    return losses
# >>>
