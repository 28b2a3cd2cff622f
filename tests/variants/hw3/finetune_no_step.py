"""finetune computes the gradients but never takes an optimizer step.

catches: test_finetuning_fits_the_support_set, test_head_finetuning_moves_only_the_head, test_real_model_lora_episode
"""
# %% grade_id: finetune
# <<< reference
        optimizer.step()
# === wrong
        pass
# >>>
