"""inner_loop returns its accuracies as 0-d tensors, not the Python floats the docstring asks for.

catches: test_inner_loop_random_sweep
"""
# %% grade_id: inner_loop
# <<< reference
        accuracies.append(accuracy(logits, support_y))
# === wrong
        accuracies.append((logits.argmax(dim=-1) == support_y).float().mean())
# >>>
# <<< reference
        accuracies.append(accuracy(conv4_forward(adapted, support_x), support_y))
# === wrong
        accuracies.append((conv4_forward(adapted, support_x).argmax(dim=-1) == support_y).float().mean())
# >>>
