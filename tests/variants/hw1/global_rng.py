"""The query order comes from the global random state, not from the generator.

catches: test_batch_uses_the_generator
"""
# %% grade_id: make_mann_batch
# <<< reference
    order = torch.rand(batch, ways, generator=generator).argsort(dim=1).to(device)  # [B, N]
# === wrong
    order = torch.rand(batch, ways).argsort(dim=1).to(device)
# >>>
