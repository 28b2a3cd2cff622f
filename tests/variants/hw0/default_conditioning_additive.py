"""The default conditioning is "additive", not the documented "concat".

catches: test_model_sizes_and_defaults
"""
# %% grade_id: model
# <<< reference
    def __init__(self, num_tasks: int, num_outputs: int, conditioning: str = "concat", hidden: int = 64):
# === wrong
    def __init__(self, num_tasks: int, num_outputs: int, conditioning: str = "additive", hidden: int = 64):
# >>>
