"""label_log_likelihoods averages the label's token log-probabilities instead of summing them.

catches: test_label_log_likelihoods_tiny, test_label_log_likelihoods_real_model
"""
# %% grade_id: label_log_likelihoods
# <<< reference
        rows.append((token_logp * real).sum(-1).float())
# === wrong
        rows.append(((token_logp * real).sum(-1) / lengths).float())
# >>>
