"""The inner loop climbs the support loss (theta + lr * grad).

catches: test_inner_loop_one_step_is_sgd, test_inner_loop_several_steps, test_outer_step_second_order_meta_gradient, test_maml_training_learns
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
# === wrong
        adapted = {name: value + inner_lrs[name] * grad
# >>>
