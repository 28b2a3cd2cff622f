"""Each sampled task always gets its first batch_size examples (no shuffling of the data).

catches: test_sampler_examples
"""
# %% grade_id: sampler
# <<< reference
    example_ids = [torch.randperm(int(sizes[t]), generator=generator)[:batch_size] for t in task_ids.tolist()]
# === wrong
    example_ids = [torch.arange(int(sizes[t]))[:batch_size] for t in task_ids.tolist()]
# >>>
