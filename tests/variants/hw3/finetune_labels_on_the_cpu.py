"""finetune keeps the labels on the CPU whatever the model's device.

catches: test_finetune_on_the_models_device
"""
# %% grade_id: finetune
# <<< reference
    labels = torch.as_tensor(labels, dtype=torch.long).to(model.device)
# === wrong
    labels = torch.as_tensor(labels, dtype=torch.long)
# >>>
