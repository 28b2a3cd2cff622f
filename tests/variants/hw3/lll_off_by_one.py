"""label_log_likelihoods reads each label token's log-probability at the token's own position instead of
the position before it (off by one).

catches: test_label_log_likelihoods_tiny, test_label_log_likelihoods_batching, test_label_log_likelihoods_real_model
"""
# %% grade_id: label_log_likelihoods
# <<< reference
        predictors = logits[:, :width].log_softmax(-1)                                 # [N, W, V]
# === wrong
        predictors = logits[:, 1:].log_softmax(-1)                                     # [N, W, V]
# >>>
