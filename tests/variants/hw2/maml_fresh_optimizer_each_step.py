"""outer_step rebuilds the Adam optimizer at every call: its moment estimates are lost between steps.

catches: test_outer_step_uses_the_optimizer
"""
# %% grade_id: maml_outer_step
# <<< reference
            self.optimizer.zero_grad()
# === wrong
            self.optimizer = type(self.optimizer)(self.optimizer.param_groups[0]["params"],
                                                  lr=self.optimizer.param_groups[0]["lr"])
            self.optimizer.zero_grad()
# >>>
