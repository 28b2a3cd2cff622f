"""A ReLU on layer1's output before layer2 reads it (a nonlinearity the handout does not have).

catches: test_mann_forward_matches_the_two_lstms
"""
# %% grade_id: mann
# <<< reference
        scores, _ = self.layer2(hidden)
# === wrong
        scores, _ = self.layer2(F.relu(hidden))
# >>>
