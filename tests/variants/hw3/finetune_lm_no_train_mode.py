"""finetune_causal_lm never calls model.train(): a model given in eval mode trains without its dropout.

catches: test_finetune_causal_lm_defaults_and_modes
"""
# %% grade_id: finetune_causal_lm
# <<< reference
    model.train()
# === wrong
    pass
# >>>
