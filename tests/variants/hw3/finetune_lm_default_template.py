"""finetune_causal_lm writes every prompt with build_prompt's default template instead of the one it is given.

catches: test_finetune_causal_lm_follows_the_documented_loop
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        prompts = [build_prompt(([], []), texts[i], label_names, template) for i in batch.tolist()]
# === wrong
        prompts = [build_prompt(([], []), texts[i], label_names) for i in batch.tolist()]
# >>>
