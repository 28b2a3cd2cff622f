"""Gradients through .backward(), then model.zero_grad(): .grad ends empty, but gradients already there are lost.

catches: test_cosine_leaves_model_alone
"""
# %% grade_id: cosine
# <<< reference
    def flat_gradient(batch: TaskBatch) -> torch.Tensor:
        loss = batch.loss(model(batch.x, batch.z))
        grads = torch.autograd.grad(loss, shared, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1) for g, p in zip(grads, shared)])
# === wrong
    def flat_gradient(batch: TaskBatch) -> torch.Tensor:
        model.zero_grad()
        batch.loss(model(batch.x, batch.z)).backward()
        flat = torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad.clone()).reshape(-1) for p in shared])
        model.zero_grad()
        return flat
# >>>
