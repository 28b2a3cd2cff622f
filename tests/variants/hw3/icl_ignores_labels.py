"""The in-context classifier never reads the support labels (all-zero label slots).

catches: test_labels_are_read, test_learns_easy_episodes
"""
# %% grade_id: in_context_classifier
# <<< reference
        labels = F.one_hot(support_labels.long(), self.ways).to(support.dtype)
# === wrong
        labels = torch.zeros(b, s, self.ways, dtype=support.dtype, device=support.device)
# >>>
