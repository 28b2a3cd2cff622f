"""finetune looks the default lr up by the full mode name, with 1e-3 for modes not in the table ("last1").

catches: test_finetune_defaults
"""
# %% grade_id: finetune
# <<< reference
        lr = LEARNING_RATES["last" if mode.startswith("last") else mode]
# === wrong
        lr = LEARNING_RATES.get(mode, 1e-3)
# >>>
