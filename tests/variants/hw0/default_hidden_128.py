"""The default hidden width is 128, not the documented 64.

catches: test_model_sizes_and_defaults
"""
# %% grade_id: model
# <<< reference
    def __init__(self, num_tasks: int, num_outputs: int, conditioning: str = "concat", hidden: int = 64):
# === wrong
    def __init__(self, num_tasks: int, num_outputs: int, conditioning: str = "concat", hidden: int = 128):
# >>>
