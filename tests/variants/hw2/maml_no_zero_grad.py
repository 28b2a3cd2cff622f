"""outer_step never zeroes the gradients: they accumulate across meta-updates.

catches: test_outer_step_zeroes_gradients
"""
# %% grade_id: maml_outer_step
# <<< reference
            self.optimizer.zero_grad()
            meta_loss.backward()
# === wrong
            meta_loss.backward()
# >>>
