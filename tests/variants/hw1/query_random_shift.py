"""The query row is rotated by a random shift per episode: only N of the N! orders ever occur.

catches: test_query_row_is_shuffled
"""
# %% grade_id: make_mann_batch
# <<< reference
    order = torch.rand(batch, ways, generator=generator).argsort(dim=1).to(device)  # [B, N]
# === wrong
    shift = torch.randint(ways, (batch, 1), generator=generator)
    order = ((torch.arange(ways).unsqueeze(0) + shift) % ways).to(device)  # [B, N]
# >>>
