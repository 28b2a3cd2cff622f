"""The query loss uses the meta-parameters, not the adapted parameters.

catches: test_outer_step_second_order_meta_gradient, test_outer_step_first_order_meta_gradient, test_outer_step_returns_loss_and_accuracies, test_maml_training_learns
"""
# %% grade_id: maml_outer_step
# <<< reference
            query_logits = conv4_forward(adapted, query_x)
# === wrong
            query_logits = conv4_forward(self.params, query_x)
# >>>
