"""The query row is reversed instead of shuffled (a fixed reordering).

catches: test_query_row_is_shuffled
"""
# %% grade_id: make_mann_batch
# <<< reference
    order = torch.rand(batch, ways, generator=generator).argsort(dim=1).to(device)  # [B, N]
# === wrong
    order = torch.arange(ways - 1, -1, -1, device=device).expand(batch, ways)
# >>>
