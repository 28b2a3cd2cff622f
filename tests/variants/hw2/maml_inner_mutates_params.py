"""inner_loop writes the adapted tensors into the params dict it was given (theta is overwritten).

catches: test_inner_loop_leaves_params_untouched
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
                   for (name, value), grad in zip(adapted.items(), grads)}
# === wrong
        for (name, value), grad in zip(list(adapted.items()), grads):
            params[name] = value - inner_lrs[name] * grad
        adapted = params
# >>>
