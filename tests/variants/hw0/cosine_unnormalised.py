"""The dot product of the gradients, not their cosine.

catches: test_cosine_matches_grader
"""
# %% grade_id: cosine
# <<< reference
    return float(g_a @ g_b / (norm_a * norm_b))
# === wrong
    return float(g_a @ g_b)
# >>>
