"""shared_parameters() returns detached copies, not the model's nn.Parameter objects.

catches: test_multihead_trunk_shared_heads_not, test_shared_parameters_match_gradients
"""
# %% grade_id: model
# <<< reference
        return [p for layer in layers for p in layer.parameters()]
# === wrong
        return [p.detach() for layer in layers for p in layer.parameters()]
# >>>
