"""label_log_likelihoods tokenises the label without its leading space.

catches: test_label_log_likelihoods_tiny, test_label_log_likelihoods_real_model
"""
# %% grade_id: label_log_likelihoods
# <<< reference
    label_ids = [list(tokenizer(" " + name, add_special_tokens=False)["input_ids"]) for name in label_names]
# === wrong
    label_ids = [list(tokenizer(name, add_special_tokens=False)["input_ids"]) for name in label_names]
# >>>
