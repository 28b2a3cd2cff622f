"""protonet_step switches the model to train mode itself: evaluation uses batch statistics and updates running averages.

catches: test_protonet_step_uses_model_as_given
"""
# %% grade_id: protonet_step
# <<< reference
    losses, support_accs, query_accs = [], [], []
# === wrong
    model.train()
    losses, support_accs, query_accs = [], [], []
# >>>
