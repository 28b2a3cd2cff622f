"""The in-context classifier assumes the support is listed way by way and derives each label from its
position instead of reading support_labels.

catches: test_support_is_a_set, test_labels_are_read, test_invariant_to_relabelling
"""
# %% grade_id: in_context_classifier
# <<< reference
        labels = F.one_hot(support_labels.long(), self.ways).to(support.dtype)
# === wrong
        by_position = (torch.arange(s, device=support.device) * self.ways // s).expand(b, s)
        labels = F.one_hot(by_position, self.ways).to(support.dtype)
# >>>
