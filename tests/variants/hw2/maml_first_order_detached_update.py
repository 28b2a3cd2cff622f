"""First-order mode detaches the whole inner update (phi = theta + constant): learned rates get no meta-gradient.

catches: test_first_order_learned_inner_lrs
"""
# %% grade_id: inner_loop
# <<< reference
        adapted = {name: value - inner_lrs[name] * grad
                   for (name, value), grad in zip(adapted.items(), grads)}
# === wrong
        if create_graph:
            adapted = {name: value - inner_lrs[name] * grad
                       for (name, value), grad in zip(adapted.items(), grads)}
        else:
            adapted = {name: value - (inner_lrs[name] * grad).detach()
                       for (name, value), grad in zip(adapted.items(), grads)}
# >>>
