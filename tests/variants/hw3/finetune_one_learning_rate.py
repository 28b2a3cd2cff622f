"""finetune puts every chosen parameter, the head included, in one group at lr (head_lr is ignored).

catches: test_finetune_follows_the_documented_loop
"""
# %% grade_id: finetune
# <<< reference
    groups = [{"params": [p for p in params if id(p) in head_ids], "lr": head_lr}]
# === wrong
    groups = [{"params": [p for p in params if id(p) in head_ids], "lr": lr}]
# >>>
