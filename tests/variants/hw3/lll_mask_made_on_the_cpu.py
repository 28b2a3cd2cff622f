"""label_log_likelihoods makes its label mask with torch.arange(width) on the CPU: right on a CPU, a
device-mismatch error for a model on a GPU.

catches: test_label_log_likelihoods_stays_on_the_models_device
"""
# %% grade_id: label_log_likelihoods
# <<< reference
    real = torch.arange(width, device=device) < lengths.unsqueeze(1)                 # [N, W]
# === wrong
    real = torch.arange(width) < lengths.unsqueeze(1)                                # [N, W]
# >>>
