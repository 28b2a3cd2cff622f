"""Concatenation that reads z at the second layer instead of the first (same parameter count).

catches: test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
        self.layer1 = nn.Linear(784 + (num_tasks if conditioning == "concat" else 0), hidden)
# === wrong
        self.layer1 = nn.Linear(784, hidden)
# >>>
# <<< reference
        self.layer2 = nn.Linear(hidden, hidden)
# === wrong
        self.layer2 = nn.Linear(hidden + (num_tasks if conditioning == "concat" else 0), hidden)
# >>>
# <<< reference
            h = F.relu(self.layer1(torch.cat([x, z], dim=1)))
# === wrong
            h = torch.cat([F.relu(self.layer1(x)), z], dim=1)
# >>>
