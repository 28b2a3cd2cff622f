"""Inner learning rates applied to the wrong parameters (taken in reverse order).

catches: test_inner_loop_one_step_is_sgd, test_inner_loop_several_steps
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
                   for (name, value), grad in zip(adapted.items(), grads)}
# === wrong
        rates = list(inner_lrs.values())[::-1]
        adapted = {name: value - rate * grad
                   for (name, value), grad, rate in zip(adapted.items(), grads, rates)}
# >>>
