"""The sampler draws from torch's global random state instead of the generator it is given.

catches: test_sampler_uses_the_generator
"""
# %% grade_id: sampler
# <<< reference
    task_ids = torch.multinomial(probs, num_tasks, replacement=True, generator=generator)
    example_ids = [torch.randperm(int(sizes[t]), generator=generator)[:batch_size] for t in task_ids.tolist()]
# === wrong
    task_ids = torch.multinomial(probs, num_tasks, replacement=True)
    example_ids = [torch.randperm(int(sizes[t]))[:batch_size] for t in task_ids.tolist()]
# >>>
