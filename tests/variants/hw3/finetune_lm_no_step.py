"""finetune_causal_lm computes the losses but never steps the optimizer.

catches: test_finetune_causal_lm_trains_only_adapters, test_finetune_causal_lm_beats_prompting
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        optimizer.step()
# === wrong
        pass
# >>>
