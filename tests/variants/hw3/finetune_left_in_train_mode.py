"""finetune leaves the model in training mode (dropout stays on at prediction time).

catches: test_finetuning_fits_the_support_set
"""
# %% grade_id: finetune
# <<< reference
    model.eval()
    return losses
# === wrong
    return losses
# >>>
