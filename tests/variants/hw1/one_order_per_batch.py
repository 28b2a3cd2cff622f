"""One random query order shared by every episode of the batch.

catches: test_query_row_is_shuffled
"""
# %% grade_id: make_mann_batch
# <<< reference
    order = torch.rand(batch, ways, generator=generator).argsort(dim=1).to(device)  # [B, N]
# === wrong
    order = torch.randperm(ways, generator=generator).to(device).expand(batch, ways)
# >>>
