"""Task sampling always uniform: the proportional flag is ignored.

catches: test_sampler_proportional
"""
# %% grade_id: sampler
# <<< reference
    probs = sizes / sizes.sum() if proportional else torch.full_like(sizes, 1.0 / len(sizes))
# === wrong
    probs = torch.full_like(sizes, 1.0 / len(sizes))
# >>>
