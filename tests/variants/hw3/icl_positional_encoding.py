"""The in-context classifier adds a position to every token, so the support is read as a sequence.

catches: test_support_is_a_set, test_queries_do_not_see_each_other
"""
# %% grade_id: in_context_classifier
# <<< reference
        hidden = self.transformer(self.input(tokens), mask=blocked)
# === wrong
        positions = torch.arange(s + q, device=support.device, dtype=support.dtype)
        position_code = torch.sin(positions.unsqueeze(-1) / (1.0 + torch.arange(self.output.in_features,
                                                                               device=support.device)))
        hidden = self.transformer(self.input(tokens) + position_code, mask=blocked)
# >>>
