"""InContextClassifier's layers defaults to 3 instead of the documented 2.

catches: test_size_arguments
"""
# %% grade_id: in_context_classifier
# <<< reference
    def __init__(self, embed_dim: int, ways: int, d_model: int = 128, layers: int = 2, heads: int = 4,
# === wrong
    def __init__(self, embed_dim: int, ways: int, d_model: int = 128, layers: int = 3, heads: int = 4,
# >>>
