"""Task sampling always proportional to data size, even when uniform sampling was asked.

catches: test_sampler_uniform_over_tasks
"""
# %% grade_id: sampler
# <<< reference
    probs = sizes / sizes.sum() if proportional else torch.full_like(sizes, 1.0 / len(sizes))
# === wrong
    probs = sizes / sizes.sum()
# >>>
