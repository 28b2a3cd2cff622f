"""The inner learning rates enter the inner step as Python floats: they never get a gradient.

catches: test_learned_inner_lrs_receive_gradients
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
# === wrong
        adapted = {name: value - float(inner_lrs[name]) * grad
# >>>
