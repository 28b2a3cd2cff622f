"""inner_loop reports only the accuracy before each step (num_steps numbers, not num_steps + 1).

catches: test_inner_loop_one_step_is_sgd, test_inner_loop_several_steps, test_outer_step_returns_loss_and_accuracies
"""
# %% grade_id: inner_loop
# <<< reference
    with torch.no_grad():
        accuracies.append(accuracy(conv4_forward(adapted, support_x), support_y))
    return adapted, accuracies
# === wrong
    return adapted, accuracies
# >>>
