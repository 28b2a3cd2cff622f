"""Multi-head whose heads read the first hidden layer (the second layer is built but skipped).

catches: test_model_matches_documented_architecture, test_multihead_trunk_shared_heads_not
"""
# %% grade_id: model
# <<< reference
        h = F.relu(self.layer2(h))
        if self.conditioning == "multihead":
# === wrong
        if self.conditioning != "multihead":
            h = F.relu(self.layer2(h))
        if self.conditioning == "multihead":
# >>>
