"""layer1's output is detached before layer2 reads it: the scores are right, layer1 never learns.

catches: test_mann_gradients_reach_both_layers
"""
# %% grade_id: mann
# <<< reference
        scores, _ = self.layer2(hidden)
# === wrong
        scores, _ = self.layer2(hidden.detach())
# >>>
