"""The inner loop never keeps the graph of its gradients: second-order mode is silently first order.

catches: test_inner_loop_create_graph_gives_second_order, test_outer_step_second_order_meta_gradient, test_learned_inner_lrs_receive_gradients
"""
# %% grade_id: inner_loop
# <<< reference
        grads = torch.autograd.grad(loss, list(adapted.values()), create_graph=create_graph)
# === wrong
        grads = torch.autograd.grad(loss, list(adapted.values()))
# >>>
