"""Each task's examples are a contiguous (wrapped) window at a random start, not a uniform random subset.

catches: test_sampler_examples
"""
# %% grade_id: sampler
# <<< reference
    example_ids = [torch.randperm(int(sizes[t]), generator=generator)[:batch_size] for t in task_ids.tolist()]
# === wrong
    example_ids = []
    for t in task_ids.tolist():
        size = int(sizes[t])
        start = int(torch.randint(size, (1,), generator=generator))
        example_ids.append((start + torch.arange(min(batch_size, size))) % size)
# >>>
