"""The sequence runs class by class ([B, N, K+1] order), so queries are not last.

catches: test_mann_forward_matches_the_two_lstms
"""
# %% grade_id: mann
# <<< reference
        sequence = torch.cat([images, visible], dim=-1).reshape(batch, rows * ways, -1)
# === wrong
        sequence = torch.cat([images, visible], dim=-1).transpose(1, 2).reshape(batch, rows * ways, -1)
# >>>
