"""outer_step updates the meta-parameters even when train=False.

catches: test_outer_step_eval_leaves_parameters_unchanged
"""
# %% grade_id: maml_outer_step
# <<< reference
        if train:
            self.optimizer.zero_grad()
# === wrong
        if True:
            self.optimizer.zero_grad()
# >>>
