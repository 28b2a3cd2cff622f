"""task_gradient_cosine switches off requires_grad of the non-shared parameters (and leaves it off).

catches: test_cosine_leaves_model_alone
"""
# %% grade_id: cosine
# <<< reference
    shared = list(model.shared_parameters())
    if not shared:
        return 0.0
# === wrong
    shared = list(model.shared_parameters())
    if not shared:
        return 0.0
    for p in model.parameters():
        p.requires_grad_(any(p is s for s in shared))
# >>>
