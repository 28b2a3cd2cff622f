"""finetune_causal_lm's seed defaults to 1 instead of the documented 0.

catches: test_finetune_causal_lm_defaults_and_modes
"""
# %% grade_id: finetune_causal_lm
# <<< reference
                       batch_size: int = LM_BATCH_SIZE, seed: int = 0,
# === wrong
                       batch_size: int = LM_BATCH_SIZE, seed: int = 1,
# >>>
