"""finetune returns the losses as tensors, not the Python floats the docstring asks for.

catches: test_finetune_follows_the_documented_loop, test_finetuning_fits_the_support_set
"""
# %% grade_id: finetune
# <<< reference
        losses.append(loss.item())
# === wrong
        losses.append(loss.detach())
# >>>
