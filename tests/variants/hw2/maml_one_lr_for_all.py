"""One inner learning rate (the first) used for every parameter tensor.

catches: test_inner_loop_one_step_is_sgd, test_inner_loop_several_steps
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
# === wrong
        adapted = {name: value - next(iter(inner_lrs.values())) * grad
# >>>
