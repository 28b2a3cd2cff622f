"""hidden_dim defaults to 64 instead of the documented 128.

catches: test_mann_layer_sizes
"""
# %% grade_id: mann
# <<< reference
    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 128) -> None:
# === wrong
    def __init__(self, num_classes: int, samples_per_class: int, hidden_dim: int = 64) -> None:
# >>>
