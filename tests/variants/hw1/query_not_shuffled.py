"""The query row is left in class order, so its labels are the identity.

catches: test_query_row_is_shuffled
"""
# %% grade_id: make_mann_batch
# <<< reference
    order = torch.rand(batch, ways, generator=generator).argsort(dim=1).to(device)  # [B, N]
# === wrong
    order = torch.arange(ways, device=device).expand(batch, ways)
# >>>
