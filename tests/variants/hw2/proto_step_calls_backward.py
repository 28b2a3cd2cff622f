"""protonet_step calls loss.backward() itself, leaving gradients on the model (the loop backpropagates again).

catches: test_protonet_step_uses_model_as_given
"""
# %% grade_id: protonet_step
# <<< reference
    return torch.stack(losses).mean(), float(np.mean(support_accs)), float(np.mean(query_accs))
# === wrong
    loss = torch.stack(losses).mean()
    if loss.requires_grad:
        loss.backward(retain_graph=True)
    return loss, float(np.mean(support_accs)), float(np.mean(query_accs))
# >>>
