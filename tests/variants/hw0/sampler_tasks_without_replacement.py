"""Tasks drawn without replacement whenever there are enough tasks (the docstring says with replacement).

catches: test_sampler_with_replacement
"""
# %% grade_id: sampler
# <<< reference
    task_ids = torch.multinomial(probs, num_tasks, replacement=True, generator=generator)
# === wrong
    task_ids = torch.multinomial(probs, num_tasks, replacement=num_tasks > len(sizes), generator=generator)
# >>>
