"""The sampler re-seeds the global torch RNG from the generator and draws from it (same batches, global state changed).

catches: test_sampler_uses_the_generator
"""
# %% grade_id: sampler
# <<< reference
    task_ids = torch.multinomial(probs, num_tasks, replacement=True, generator=generator)
    example_ids = [torch.randperm(int(sizes[t]), generator=generator)[:batch_size] for t in task_ids.tolist()]
# === wrong
    torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
    task_ids = torch.multinomial(probs, num_tasks, replacement=True)
    example_ids = [torch.randperm(int(sizes[t]))[:batch_size] for t in task_ids.tolist()]
# >>>
