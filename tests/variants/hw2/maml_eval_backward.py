"""outer_step(train=False) backpropagates the meta-loss: gradients pile up on the parameters during evaluation.

catches: test_outer_step_eval_leaves_parameters_unchanged
"""
# %% grade_id: maml_outer_step
# <<< reference
        if train:
            self.optimizer.zero_grad()
            meta_loss.backward()
            self.optimizer.step()
# === wrong
        if train:
            self.optimizer.zero_grad()
            meta_loss.backward()
            self.optimizer.step()
        else:
            meta_loss.backward()
# >>>
