"""label_log_likelihoods reads each label token's log-probability at the token's own position instead of
the position before it (off by one).

catches: test_label_log_likelihoods_tiny, test_label_log_likelihoods_batching, test_label_log_likelihoods_real_model
"""
# %% grade_id: label_log_likelihoods
# <<< reference
            later = model(padded[:, :-1], cache=repeated(out.cache, len(label_ids)), use_cache=True).logits
            logits = torch.cat([logits, later], dim=1)                                 # [N, W, V]
# === wrong
            later = model(padded, cache=repeated(out.cache, len(label_ids)), use_cache=True).logits
            logits = later                                                             # [N, W, V]
# >>>
