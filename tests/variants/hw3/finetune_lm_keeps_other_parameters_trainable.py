"""finetune_causal_lm optimises the given parameters but leaves requires_grad as it found it: on a fresh model
every other parameter stays trainable (and gets gradients) though the optimizer never moves it.

catches: test_finetune_causal_lm_trains_the_given_parameters, test_finetune_causal_lm_trains_only_adapters
"""
# %% grade_id: finetune_causal_lm
# <<< reference
    for p in model.parameters():
        p.requires_grad_(id(p) in wanted)
# === wrong
    for p in model.parameters():
        p.requires_grad_(p.requires_grad or id(p) in wanted)
# >>>
