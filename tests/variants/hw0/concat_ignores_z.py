"""Concatenation that feeds zeros instead of z: the network never sees the task.

catches: test_output_depends_on_task
"""
# %% grade_id: model
# <<< reference
            h = F.relu(self.layer1(torch.cat([x, z], dim=1)))
# === wrong
            h = F.relu(self.layer1(torch.cat([x, torch.zeros_like(z)], dim=1)))
# >>>
