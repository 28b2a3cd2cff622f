"""finetune_causal_lm draws its minibatches from torch's global RNG instead of the seeded generator.

catches: test_finetune_causal_lm_follows_the_documented_loop
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        batch = torch.randperm(len(texts), generator=generator)[:batch_size]
# === wrong
        batch = torch.randperm(len(texts))[:batch_size]
# >>>
