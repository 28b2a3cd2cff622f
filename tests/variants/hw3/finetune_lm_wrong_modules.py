"""finetune_causal_lm trains every projection of the attention and MLP (names ending in "proj") instead of the adapters.

catches: test_finetune_causal_lm_trains_only_adapters
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        parameters = [p for name, p in model.named_parameters() if "lora_" in name]
# === wrong
        parameters = [p for name, p in model.named_parameters() if "proj" in name and "lora_" not in name]
# >>>
