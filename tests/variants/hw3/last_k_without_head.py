""""last<k>" trains the last k blocks but leaves the new head frozen.

catches: test_last_k_mode
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = [p for block in blocks[len(blocks) - k:] for p in block.parameters()] + head
# === wrong
        chosen = [p for block in blocks[len(blocks) - k:] for p in block.parameters()]
# >>>
