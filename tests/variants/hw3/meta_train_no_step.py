"""meta_train_in_context computes the loss and the gradients but never updates the model.

catches: test_learns_easy_episodes
"""
# %% grade_id: meta_train_in_context
# <<< reference
        optimizer.step()
# === wrong
        pass
# >>>
