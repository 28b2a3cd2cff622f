"""outer_step ignores self.optimizer (Adam by default) and takes a manual SGD step with its learning rate.

catches: test_outer_step_uses_the_optimizer
"""
# %% grade_id: maml_outer_step
# <<< reference
            self.optimizer.zero_grad()
            meta_loss.backward()
            self.optimizer.step()
# === wrong
            self.optimizer.zero_grad()
            meta_loss.backward()
            lr = self.optimizer.param_groups[0]["lr"]
            with torch.no_grad():
                for group in self.optimizer.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            p -= lr * p.grad
# >>>
