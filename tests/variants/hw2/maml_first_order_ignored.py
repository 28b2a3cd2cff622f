"""first_order=True is ignored: training is always second order.

catches: test_outer_step_first_order_meta_gradient
"""
# %% grade_id: maml_outer_step
# <<< reference
        create_graph = train and not self.first_order
# === wrong
        create_graph = train
# >>>
