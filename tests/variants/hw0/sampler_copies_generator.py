"""The sampler draws from a new generator seeded with the given one's seed: every call returns the same batch.

catches: test_sampler_uses_the_generator
"""
# %% grade_id: sampler
# <<< reference
    probs = sizes / sizes.sum() if proportional else torch.full_like(sizes, 1.0 / len(sizes))
# === wrong
    probs = sizes / sizes.sum() if proportional else torch.full_like(sizes, 1.0 / len(sizes))
    generator = torch.Generator().manual_seed(generator.initial_seed())
# >>>
