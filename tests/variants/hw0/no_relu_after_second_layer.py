"""The second hidden layer has no ReLU (the docstring puts ReLUs after both hidden layers).

catches: test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
        h = F.relu(self.layer2(h))
# === wrong
        h = self.layer2(h)
# >>>
