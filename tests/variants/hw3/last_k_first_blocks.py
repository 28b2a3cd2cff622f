""""last<k>" trains the first k blocks instead of the last k (same number of parameters).

catches: test_last_k_mode
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = [p for block in blocks[len(blocks) - k:] for p in block.parameters()] + head
# === wrong
        chosen = [p for block in blocks[:k] for p in block.parameters()] + head
# >>>
