"""finetune_causal_lm leaves the labels on the CPU: right on a CPU, a device-mismatch error for a model on a GPU.

catches: test_finetune_causal_lm_defaults_and_modes
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        loss = F.cross_entropy(scores, labels[batch].to(scores.device))
# === wrong
        loss = F.cross_entropy(scores, labels[batch])
# >>>
