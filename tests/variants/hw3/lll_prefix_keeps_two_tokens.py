"""label_log_likelihoods leaves every prompt two tokens after the shared prefix instead of one: a
one-token prompt then gets a prefix of -1 tokens, and the other prompts lose all but their last token.

catches: test_label_log_likelihoods_batching
"""
# %% grade_id: label_log_likelihoods
# <<< reference
    shared = min(len(ids) for ids in prompt_ids) - 1
# === wrong
    shared = min(len(ids) for ids in prompt_ids) - 2
# >>>
