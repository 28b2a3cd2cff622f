"""The gradient cosine over all the parameters instead of the shared ones.

catches: test_cosine_matches_grader, test_cosine_without_shared_parameters
"""
# %% grade_id: cosine
# <<< reference
    shared = list(model.shared_parameters())
# === wrong
    shared = list(model.parameters())
# >>>
