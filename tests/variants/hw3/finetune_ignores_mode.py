"""finetune trains every parameter whatever the mode (never calls parameters_to_fine_tune).

catches: test_lora_finetuning_moves_only_adapters_and_head, test_head_finetuning_moves_only_the_head
"""
# %% grade_id: finetune
# <<< reference
    params = parameters_to_fine_tune(model, mode)
# === wrong
    for p in model.parameters():
        p.requires_grad_(True)
    params = list(model.parameters())
# >>>
