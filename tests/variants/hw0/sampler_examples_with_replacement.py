"""Examples drawn with replacement: a task's mini-batch can repeat an example (and small tasks get full batches).

catches: test_sampler_examples
"""
# %% grade_id: sampler
# <<< reference
    example_ids = [torch.randperm(int(sizes[t]), generator=generator)[:batch_size] for t in task_ids.tolist()]
# === wrong
    example_ids = [torch.randint(int(sizes[t]), (batch_size,), generator=generator) for t in task_ids.tolist()]
# >>>
