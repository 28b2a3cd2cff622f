"""A sampler built on randint and argsort of random keys; a cosine from materialised grads and F.cosine_similarity.

catches: none
"""
# %% grade_id: sampler
def sample_task_batch(task_sizes, num_tasks, batch_size, generator, proportional=False):
    sizes = [int(s) for s in task_sizes]
    if not sizes or min(sizes) < 1:
        raise ValueError(f"every task needs at least one example; sizes {sizes}")
    if num_tasks < 1 or batch_size < 1:
        raise ValueError(f"num_tasks ({num_tasks}) and batch_size ({batch_size}) must be positive")
    if proportional:
        task_ids = torch.multinomial(torch.tensor(sizes, dtype=torch.float64), num_tasks, replacement=True,
                                     generator=generator)
    else:
        task_ids = torch.randint(len(sizes), (num_tasks,), generator=generator)
    example_ids = []
    for t in task_ids.tolist():
        keys = torch.rand(sizes[t], generator=generator)
        example_ids.append(torch.argsort(keys)[:min(batch_size, sizes[t])])
    return task_ids, example_ids
# %% grade_id: cosine
def task_gradient_cosine(model, batch_a, batch_b):
    params = model.shared_parameters()
    if len(params) == 0:
        return 0.0
    vectors = []
    for batch in (batch_a, batch_b):
        loss = batch.loss(model(batch.x, batch.z))
        grads = torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
        vectors.append(torch.cat([g.flatten() for g in grads]))
    if not bool(vectors[0].any()) or not bool(vectors[1].any()):
        return 0.0
    return F.cosine_similarity(vectors[0], vectors[1], dim=0).item()
