"""An extra tanh between the two LSTMs (the handout has nothing between layer1 and layer2).

catches: test_mann_forward_matches_the_two_lstms
"""
# %% grade_id: mann
# <<< reference
        scores, _ = self.layer2(hidden)
# === wrong
        scores, _ = self.layer2(torch.tanh(hidden))
# >>>
