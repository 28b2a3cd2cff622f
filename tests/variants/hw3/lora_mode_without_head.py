""""lora" mode trains the adapters but not the head (which starts at zero and then never moves).

catches: test_lora_mode, test_lora_finetuning_moves_only_adapters_and_head
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = lora + head
# === wrong
        chosen = lora
# >>>
