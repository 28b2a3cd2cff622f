"""shared_parameters() returns every parameter, whatever the conditioning.

catches: test_independent_shares_nothing, test_multihead_trunk_shared_heads_not, test_shared_parameters_match_gradients
"""
# %% grade_id: model
# <<< reference
        if self.conditioning == "independent":
            return []
        layers = [self.layer1, self.layer2] + ([] if self.conditioning == "multihead" else [self.output])
        return [p for layer in layers for p in layer.parameters()]
# === wrong
        return list(self.parameters())
# >>>
