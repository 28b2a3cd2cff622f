"""make_mann_batch draws from a fresh generator seeded like the given one: every call repeats the orders.

catches: test_batch_uses_the_generator
"""
# %% grade_id: make_mann_batch
# <<< reference
    batch, ways, shots = episodes.support.shape[:3]
# === wrong
    batch, ways, shots = episodes.support.shape[:3]
    generator = torch.Generator().manual_seed(generator.initial_seed())  # "do not disturb the caller's"
# >>>
