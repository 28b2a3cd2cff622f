"""inner_loop casts the adapted parameters to float32, whatever the dtype of params.

catches: test_inner_loop_random_sweep
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
# === wrong
        adapted = {name: (value - inner_lrs[name] * grad).float()
# >>>
