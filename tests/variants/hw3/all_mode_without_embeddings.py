""""all" mode forgets the embeddings (only the blocks and the head).

catches: test_head_and_all_modes
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
        chosen = list(model.parameters())
# === wrong
        chosen = [p for block in blocks for p in block.parameters()] + head
# >>>
