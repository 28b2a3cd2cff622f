"""finetune_causal_lm always trains the adapters: the parameters it is given (Part 7's head-only and last-block modes) are ignored.

catches: test_finetune_causal_lm_trains_the_given_parameters
"""
# %% grade_id: finetune_causal_lm
# <<< reference
    if parameters is None:
        parameters = [p for name, p in model.named_parameters() if "lora_" in name]
# === wrong
    parameters = [p for name, p in model.named_parameters() if "lora_" in name]
# >>>
