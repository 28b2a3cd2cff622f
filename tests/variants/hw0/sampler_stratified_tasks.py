"""Task ids from concatenated random permutations (stratified, not independent draws).

catches: test_sampler_uniform_over_tasks
"""
# %% grade_id: sampler
# <<< reference
    task_ids = torch.multinomial(probs, num_tasks, replacement=True, generator=generator)
# === wrong
    if proportional:
        task_ids = torch.multinomial(probs, num_tasks, replacement=True, generator=generator)
    else:
        rounds = -(-num_tasks // len(sizes))
        task_ids = torch.cat([torch.randperm(len(sizes), generator=generator) for _ in range(rounds)])[:num_tasks]
# >>>
