"""finetune always draws minibatches of BATCH_SIZE, whatever batch_size it is given.

catches: test_finetune_follows_the_documented_loop
"""
# %% grade_id: finetune
# <<< reference
        batch = torch.randperm(len(texts), generator=generator)[:batch_size]
# === wrong
        batch = torch.randperm(len(texts), generator=generator)[:BATCH_SIZE]
# >>>
