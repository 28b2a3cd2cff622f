"""The meta-loss is the support loss after adaptation instead of the query loss.

catches: test_outer_step_second_order_meta_gradient, test_outer_step_first_order_meta_gradient, test_outer_step_returns_loss_and_accuracies
"""
# %% grade_id: maml_outer_step
# <<< reference
            query_logits = conv4_forward(adapted, query_x)
            query_losses.append(F.cross_entropy(query_logits, query_y))
# === wrong
            query_logits = conv4_forward(adapted, query_x)
            query_losses.append(F.cross_entropy(conv4_forward(adapted, support_x), support_y))
# >>>
