"""meta_train_in_context sums the query cross-entropies instead of averaging them.

catches: test_meta_train_arguments, test_learns_easy_episodes
"""
# %% grade_id: meta_train_in_context
# <<< reference
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), episodes.query_labels.reshape(-1))
# === wrong
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), episodes.query_labels.reshape(-1), reduction="sum")
# >>>
