"""'Multiplicative' conditioning that adds the task embedding instead of multiplying by it.

catches: test_multiplicative_gate_switches_off
"""
# %% grade_id: model
# <<< reference
            h = F.relu(self.layer1(x)) * self.task_gate(z)
# === wrong
            h = F.relu(self.layer1(x) + self.task_gate(z))
# >>>
