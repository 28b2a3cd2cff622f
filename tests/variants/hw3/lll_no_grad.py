"""label_log_likelihoods runs under torch.no_grad(): right numbers, but fine-tuning through it gets no gradient.

catches: test_finetune_causal_lm_trains_only_adapters, test_finetune_causal_lm_beats_prompting
"""
# %% grade_id: label_log_likelihoods
# <<< reference
    device = next(model.parameters()).device
# === wrong
    torch.set_grad_enabled(False)
    device = next(model.parameters()).device
# >>>
