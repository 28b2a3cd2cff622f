"""outer_step's train argument defaults to False: a call without it evaluates instead of training.

catches: test_outer_step_uses_the_optimizer
"""
# %% grade_id: maml_outer_step
# <<< reference
    def outer_step(self, task_batch: list, train: bool = True) -> tuple:
# === wrong
    def outer_step(self, task_batch: list, train: bool = False) -> tuple:
# >>>
