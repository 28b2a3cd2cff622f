"""Cross-entropy computed in numpy: the right value, but no gradient reaches the logits.

catches: test_cross_entropy_gradient
"""
# %% grade_id: cross_entropy
import numpy as np
import torch

def cross_entropy(logits, labels):
    z = logits.detach().numpy().astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return torch.tensor(-log_probs[np.arange(len(labels)), labels.numpy()].mean())
