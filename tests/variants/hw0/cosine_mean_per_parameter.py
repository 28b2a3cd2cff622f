"""The mean of per-parameter cosines instead of the cosine of the concatenated gradients.

catches: test_cosine_matches_grader, test_cosine_random_sweep
"""
# %% grade_id: cosine
# <<< reference
    g_a, g_b = flat_gradient(batch_a), flat_gradient(batch_b)
# === wrong
    def per_parameter(batch):
        grads = torch.autograd.grad(batch.loss(model(batch.x, batch.z)), shared, allow_unused=True)
        return [torch.zeros_like(p).reshape(-1) if g is None else g.reshape(-1) for g, p in zip(grads, shared)]
    pieces = [F.cosine_similarity(a, b, dim=0) for a, b in zip(per_parameter(batch_a), per_parameter(batch_b))]
    return float(torch.stack(pieces).mean())
    g_a, g_b = flat_gradient(batch_a), flat_gradient(batch_b)
# >>>
