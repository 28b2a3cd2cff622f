"""finetune never calls model.train(), so a model handed over in eval mode trains without dropout.

catches: test_finetune_modes_and_edge_cases
"""
# %% grade_id: finetune
# <<< reference
    model.train()
    losses = []
# === wrong
    losses = []
# >>>
