"""finetune seeds its minibatch generator with 0 whatever seed it is given.

catches: test_finetune_follows_the_documented_loop
"""
# %% grade_id: finetune
# <<< reference
    generator = torch.Generator().manual_seed(seed)
# === wrong
    generator = torch.Generator().manual_seed(0)
# >>>
