"""The inner loop takes one step whatever num_steps says.

catches: test_inner_loop_several_steps, test_outer_step_returns_loss_and_accuracies
"""
# %% grade_id: inner_loop
# <<< reference
    for _ in range(num_steps):
# === wrong
    for _ in range(1):
# >>>
