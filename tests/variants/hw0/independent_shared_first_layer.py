"""'Independent' networks that share their first layer (only the later layers are per task).

catches: test_independent_shares_nothing
"""
# %% grade_id: model
# <<< reference
            outputs = torch.stack([net(x) for net in self.nets], dim=1)          # [B, T, O]
# === wrong
            first = self.nets[0][1]
            outputs = torch.stack([net[2:](first(x)) for net in self.nets], dim=1)
# >>>
