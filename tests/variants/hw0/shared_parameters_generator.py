"""shared_parameters() returns a generator instead of the documented list.

catches: test_multihead_trunk_shared_heads_not, test_shared_parameters_match_gradients
"""
# %% grade_id: model
# <<< reference
        return [p for layer in layers for p in layer.parameters()]
# === wrong
        return (p for layer in layers for p in layer.parameters())
# >>>
