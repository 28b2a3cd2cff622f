"""finetune_causal_lm never zeroes the gradients: every step adds the new gradient to all the earlier ones.

catches: test_finetune_causal_lm_follows_the_documented_loop
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        optimizer.zero_grad()
# === wrong
        pass
# >>>
