"""A query token may not attend to itself (only to the support), against the markdown's mask.

catches: test_attention_mask_and_device
"""
# %% grade_id: in_context_classifier
# <<< reference
        blocked[diagonal, diagonal] = False         # a query also reads itself, no other query
# === wrong
        blocked[diagonal, diagonal] = True
# >>>
