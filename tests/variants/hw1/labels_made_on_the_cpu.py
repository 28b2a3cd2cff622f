"""The one-hot labels are made with torch.eye(ways) on the CPU: right values, wrong device on a GPU.

catches: test_batch_stays_on_the_episodes_device
"""
# %% grade_id: make_mann_batch
# <<< reference
    eye = torch.eye(ways, device=device)
# === wrong
    eye = torch.eye(ways)
# >>>
