"""The meta-loss is the sum of the query losses over tasks, not their mean.

catches: test_outer_step_second_order_meta_gradient, test_outer_step_returns_loss_and_accuracies
"""
# %% grade_id: maml_outer_step
# <<< reference
        meta_loss = torch.stack(query_losses).mean()
# === wrong
        meta_loss = torch.stack(query_losses).sum()
# >>>
