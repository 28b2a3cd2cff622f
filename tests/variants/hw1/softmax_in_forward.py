"""forward returns softmax probabilities instead of the scores (a softmax too many).

catches: test_mann_forward_matches_the_two_lstms
"""
# %% grade_id: mann
# <<< reference
        return scores.reshape(batch, rows, ways, ways)
# === wrong
        return torch.softmax(scores.reshape(batch, rows, ways, ways), dim=-1)
# >>>
