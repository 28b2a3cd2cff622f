"""task_gradient_cosine written with the kit's (former) gradient and shared-name helpers: the helper package holds no such answer.

catches: test_cosine_matches_grader, test_cosine_random_sweep, test_cosine_leaves_model_alone, test_cosine_without_shared_parameters
grade: test_cosine_matches_grader, test_cosine_random_sweep, test_cosine_leaves_model_alone, test_cosine_without_shared_parameters
score: 0
"""
# %% grade_id: cosine
def task_gradient_cosine(model, batch_a, batch_b) -> float:
    from metakit.multitask import loss_gradients, shared_parameter_names

    names = shared_parameter_names(model)
    if not names:
        return 0.0
    g_a, g_b = loss_gradients(model, batch_a), loss_gradients(model, batch_b)
    a = np.concatenate([g_a[n].ravel() for n in names])
    b = np.concatenate([g_b[n].ravel() for n in names])
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return 0.0 if norms == 0 else float(a @ b / norms)
