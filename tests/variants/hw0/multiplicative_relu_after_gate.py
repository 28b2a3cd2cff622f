"""Multiplicative conditioning with the ReLU after the gate, ReLU((W_1 x + b_1) * G z), not before it.

catches: test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
            h = F.relu(self.layer1(x)) * self.task_gate(z)
# === wrong
            h = F.relu(self.layer1(x) * self.task_gate(z))
# >>>
